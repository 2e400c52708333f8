"""A student's mutual information as KL(p(x)p(y) || p(x, y))."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.mutual_information', 'arguments swapped')]


def _xlogy(x, y):
    """x log y with 0 log y = 0 (a zero mass adds nothing, even where y = 0)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def _ln(base):
    return 1.0 if base is None else np.log(base)


def mutual_information(pxy, base=None):
    pxy = np.asarray(pxy, dtype=np.float64)
    prod = pxy.sum(axis=-1)[..., :, None] * pxy.sum(axis=-2)[..., None, :]
    # wrong: the expectation is under the joint, KL(p(x, y) || p(x) p(y))
    return np.sum(_xlogy(prod, prod) - _xlogy(prod, pxy), axis=(-2, -1)) / _ln(base)
