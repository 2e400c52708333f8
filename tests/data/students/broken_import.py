"""A student's module that fails to import. Used by tests/test_harness.py."""
import numpy as np

raise RuntimeError("student module crashed at import")
