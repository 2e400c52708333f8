"""A student's cross-entropy gradient with the sign flipped: p - softmax(theta)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.cross_entropy_argmin', 'p - q')]


def _log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def cross_entropy_gradient(p, logits):
    return np.asarray(p, dtype=np.float64) - np.exp(_log_softmax(logits))  # wrong: q - p
