"""Officer blueprint."""
