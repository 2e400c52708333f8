"""A student's entropy written as -sum(p * log p): a zero probability gives 0 * -inf = NaN."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.entropy', '0 log 0 as NaN')]


def entropy(p, base=None):
    p = np.asarray(p, dtype=np.float64)
    H = -np.sum(p * np.log(p), axis=-1)  # wrong: 0 log 0 must count as 0
    return H if base is None else H / np.log(base)
