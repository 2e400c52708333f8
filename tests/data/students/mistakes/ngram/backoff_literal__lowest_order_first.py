"""A student's backoff that lets the lowest order with a count win."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.backoff', 'lowest order first')]


def backoff_literal(probabilities, counts):
    p, c = np.asarray(probabilities, dtype=np.float64), np.asarray(counts, dtype=np.float64)
    out = p[0].copy()
    for i in range(1, p.shape[0]):  # wrong: later (lower) orders overwrite the higher ones
        out = np.where(c[i] > 0, p[i], out)
    return out
