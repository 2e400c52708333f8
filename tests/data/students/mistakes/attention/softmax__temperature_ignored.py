"""A student's softmax that ignores tau."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('attention.softmax_temperature', 'temperature ignored')]


def _softmax(z):
    """Softmax over the last axis; a row of -inf only (every key masked) gets zeros, NaN stays NaN."""
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(z - m)
    s = e.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = e / s
    return np.where(s > 0, w, np.where(np.isnan(s), np.nan, 0.0))


def softmax(z, tau=1.0):
    z = z  # wrong: tau is never used
    return _softmax(z)
