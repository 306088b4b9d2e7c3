"""events: being reorganised (issue 10)."""
