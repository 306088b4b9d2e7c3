"""moving: being reorganised (issue 10)."""
