"""A student's causal mask that keeps the future (the upper triangle)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('attention.causal_mask', 'upper triangle kept')]


def causal_masked_scores(Z):
    Z = np.asarray(Z, dtype=np.float64)
    n, m = Z.shape[-2:]
    keep = np.triu(np.ones((n, m), dtype=bool))  # wrong: keeps j >= i
    return np.where(keep, Z, -np.inf)
