"""A student's module whose softmax has the wrong signature. Used by tests/test_harness.py."""
import numpy as np


def softmax(logits, temperature, axis):
    raise AssertionError("never called: the signature check fails first")
