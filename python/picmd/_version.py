"""The package version; it follows VERSION in the project's Makefile
(tests/python/test_protocol.py checks that they agree)."""

__version__ = "0.1.0"
