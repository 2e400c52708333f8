"""A student's JSD without the factors 1/2."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.jensen_shannon', 'no halves')]


def _xlogy(x, y):
    """x log y with 0 log y = 0 (a zero mass adds nothing, even where y = 0)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def _ln(base):
    return 1.0 if base is None else np.log(base)


def _kl(p, q, base):
    return np.sum(_xlogy(p, p) - _xlogy(p, q), axis=-1) / _ln(base)


def jensen_shannon_divergence(p, q, base=None):
    m = (np.asarray(p, dtype=np.float64) + np.asarray(q, dtype=np.float64)) / 2
    return _kl(p, m, base) + _kl(q, m, base)  # wrong: 1/2 KL(p || m) + 1/2 KL(q || m)
