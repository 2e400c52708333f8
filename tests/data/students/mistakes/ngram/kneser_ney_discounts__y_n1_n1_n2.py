"""A student's Kneser-Ney discounts with Y = n1 / (n1 + n2)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.kneser_ney_discounts', 'Y = n1 / (n1 + n2)')]


def kneser_ney_discounts(counts_of_counts):
    n1, n2, n3, n4 = np.moveaxis(np.asarray(counts_of_counts, dtype=np.float64), -1, 0)
    Y = n1 / (n1 + n2)  # wrong: n1 / (n1 + 2 n2)
    return np.stack([1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3], axis=-1)
