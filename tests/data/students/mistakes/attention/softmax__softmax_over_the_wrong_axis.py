"""A student's softmax that normalises down the rows (axis 0) instead of along each row."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('attention.softmax_temperature', 'softmax over the wrong axis')]


def softmax(z, tau=1.0):
    z = np.asarray(z, dtype=np.float64) / tau
    m = z.max(axis=0, keepdims=True)  # wrong: axis=-1, each row of logits is one distribution
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(z - m)
    s = e.sum(axis=0, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = e / s
    return np.where(s > 0, w, np.where(np.isnan(s), np.nan, 0.0))
