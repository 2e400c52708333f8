"""A student's module with nothing written yet. Used by tests/test_harness.py."""
