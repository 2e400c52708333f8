"""A student's softmax without the max-shift (overflows for large logits)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('attention.softmax_temperature', 'no max-shift')]


def softmax(z, tau=1.0):
    e = np.exp(np.asarray(z, dtype=np.float64) / tau)  # wrong: no max subtracted, exp(1e4) = inf
    return e / e.sum(axis=-1, keepdims=True)
