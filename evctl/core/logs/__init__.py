"""logs: being reorganised (issue 10)."""
