"""A student's KL in bits (log2) always."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.kl_divergence', 'bits instead of nats')]


def kl_divergence(p, q, base=None):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore"):
        terms = np.where(p > 0, p * (np.log2(np.where(p > 0, p, 1.0)) - np.log2(np.where(p > 0, q, 1.0))), 0.0)
    return np.sum(terms, axis=-1)  # wrong: log2 whatever the base
