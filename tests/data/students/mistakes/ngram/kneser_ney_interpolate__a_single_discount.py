"""A student's Kneser-Ney that discounts every count by D1."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.kneser_ney_interpolated', 'a single discount')]


def kneser_ney_interpolate(counts, lower, discounts):
    """p(w | h) = (c(hw) - D(c(hw))) / c(h) + gamma(h) p(w | h'), gamma(h) = sum_w D(c(hw)) / c(h);
    an unseen context (c(h) = 0) backs off entirely to p(w | h')."""
    a = np.asarray(counts, dtype=np.float64)
    lower = np.asarray(lower, dtype=np.float64)
    D1, D2, D3 = np.asarray(discounts, dtype=np.float64)
    d = np.where(a > 0, D1, 0.0)  # wrong: D2 for count 2, D3+ for 3 and more
    total = a.sum(axis=-1, keepdims=True)
    seen = total > 0
    c_h = np.where(seen, total, 1.0)
    gamma = np.where(seen, d.sum(axis=-1, keepdims=True) / c_h, 1.0)
    return (a - d) / c_h + gamma * lower
