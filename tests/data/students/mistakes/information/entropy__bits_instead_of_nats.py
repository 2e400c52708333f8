"""A student's entropy in bits (log2) always."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.entropy', 'bits instead of nats'), ('information.entropy_bits_nats', 'bits instead of nats')]


def entropy(p, base=None):
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore"):
        logs = np.where(p > 0, np.log2(np.where(p > 0, p, 1.0)), 0.0)  # wrong: log2 whatever the base
    return -np.sum(p * logs, axis=-1)
