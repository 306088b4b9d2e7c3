"""common: being reorganised (issue 10)."""
