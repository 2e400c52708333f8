"""A student's Kneser-Ney that adds the lower order without gamma(h)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.kneser_ney_interpolated', 'no back-off weight')]


def kneser_ney_interpolate(counts, lower, discounts):
    """p(w | h) = (c(hw) - D(c(hw))) / c(h) + gamma(h) p(w | h'), gamma(h) = sum_w D(c(hw)) / c(h);
    an unseen context (c(h) = 0) backs off entirely to p(w | h')."""
    a = np.asarray(counts, dtype=np.float64)
    lower = np.asarray(lower, dtype=np.float64)
    D1, D2, D3 = np.asarray(discounts, dtype=np.float64)
    d = np.select([a >= 3, a == 2, a >= 1], [D3, D2, D1], 0.0)
    total = a.sum(axis=-1, keepdims=True)
    seen = total > 0
    c_h = np.where(seen, total, 1.0)
    gamma = np.where(seen, d.sum(axis=-1, keepdims=True) / c_h, 1.0)
    return np.where(seen, (a - d) / c_h, 0.0) + lower  # wrong: gamma(h) * lower
