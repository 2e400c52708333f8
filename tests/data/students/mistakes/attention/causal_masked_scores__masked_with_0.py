"""A student's causal mask that writes 0 instead of -inf into the future (0 still gets weight after the softmax)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('attention.causal_mask', 'masked with 0')]


def causal_masked_scores(Z):
    Z = np.asarray(Z, dtype=np.float64)
    n, m = Z.shape[-2:]
    keep = np.tril(np.ones((n, m), dtype=bool))
    return np.where(keep, Z, 0.0)
