"""The Python package's tests; see daemon.py for the daemon they run."""
