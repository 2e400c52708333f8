"""A student's softmax that only handles 1-D input and raises on a matrix. Used by tests/test_harness.py."""
import numpy as np


def softmax(z, tau=1.0):
    if np.ndim(z) != 1:
        raise ValueError("I only wrote it for vectors")
    e = np.exp((z - z.max()) / tau)
    return e / e.sum()
