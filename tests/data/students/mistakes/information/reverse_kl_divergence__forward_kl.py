"""A student's reverse KL that computes the forward KL(p || q)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.kl_forward_reverse', 'forward KL')]


def _xlogy(x, y):
    """x log y with 0 log y = 0 (a zero mass adds nothing, even where y = 0)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def _ln(base):
    return 1.0 if base is None else np.log(base)


def reverse_kl_divergence(p, q, base=None):
    return np.sum(_xlogy(p, p) - _xlogy(p, q), axis=-1) / _ln(base)  # wrong: the reverse KL is KL(q || p)
