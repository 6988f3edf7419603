"""The test suite; a package so that test modules import `tests.helpers` (pytest runs from the
checkout with `python -m pytest`, which puts it on sys.path)."""
