"""CSV downloads of results and steps."""
