"""rules: being reorganised (issue 10)."""
