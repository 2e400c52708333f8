"""A student's JSD with KL written as sum(p * log(p / m)): a zero mass gives NaN."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.jensen_shannon', '0 log 0 as NaN')]


def _kl(p, q):
    return np.sum(p * np.log(p / q), axis=-1)  # wrong: 0 * log 0 = NaN where p = 0


def jensen_shannon_divergence(p, q, base=None):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = (p + q) / 2
    jsd = 0.5 * _kl(p, m) + 0.5 * _kl(q, m)
    return jsd if base is None else jsd / np.log(base)
