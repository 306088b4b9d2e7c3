"""queues: being reorganised (issue 10)."""
