"""One dialog per file. Each is non-blocking friendly: tests drive them directly."""
