"""A student's mutual information as sum(p * log(p / (px py))): empty cells give NaN."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.mutual_information', '0 log 0 as NaN')]


def mutual_information(pxy, base=None):
    pxy = np.asarray(pxy, dtype=np.float64)
    px, py = pxy.sum(axis=-1), pxy.sum(axis=-2)
    mi = np.sum(pxy * np.log(pxy / (px[..., :, None] * py[..., None, :])), axis=(-2, -1))  # wrong: 0 log 0 = NaN here
    return mi if base is None else mi / np.log(base)
