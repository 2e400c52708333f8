"""A student's JSD computed as the symmetrised KL (KL(p||q) + KL(q||p)) / 2."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.jensen_shannon', 'symmetrised KL')]


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
    return 0.5 * (_kl(p, q, base) + _kl(q, p, base))  # wrong: both KLs are to the mixture m
