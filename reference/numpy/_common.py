"""Numerical helpers shared by the NumPy references (not equations of the course: no catalogue entry)."""

from __future__ import annotations

import numpy as np


def log_softmax(z) -> np.ndarray:
    """log softmax(z) over the last axis, stably: z - max - log sum exp(z - max). NaN propagates."""
    z = np.asarray(z, dtype=np.float64)
    m = np.max(z, axis=-1, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=-1, keepdims=True))
