"""A student's causal mask that also masks the diagonal (a token cannot see itself)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('attention.causal_mask', 'diagonal masked')]


def causal_masked_scores(Z):
    Z = np.asarray(Z, dtype=np.float64)
    n, m = Z.shape[-2:]
    keep = np.tril(np.ones((n, m), dtype=bool), k=-1)  # wrong: j < i only
    return np.where(keep, Z, -np.inf)
