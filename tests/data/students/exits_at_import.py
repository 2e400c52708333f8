"""A student's module that runs script code at import and exits. Used by tests/test_harness.py."""
import sys

print("training my model...")
sys.exit(3)
