"""gridwall's tests: a package so shared helpers import as ``tests.support`` (no sys.path edits)."""
