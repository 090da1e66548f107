"""Makes tests/ a package so "python3 -m unittest discover -s tests/python -t ." can import tests/python (3.11 discovers no namespace packages)."""
