"""redrive: being reorganised (issue 10)."""
