"""A student's KL written as sum(p * log(p / q)): a zero p gives 0 * log 0 = NaN."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.kl_divergence', '0 log 0 as NaN')]


def kl_divergence(p, q, base=None):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    kl = np.sum(p * np.log(p / q), axis=-1)  # wrong: terms with p = 0 must count as 0
    return kl if base is None else kl / np.log(base)
