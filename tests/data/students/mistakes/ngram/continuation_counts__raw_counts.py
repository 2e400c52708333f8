"""A student's continuation counts that sum the raw counts."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.continuation_counts', 'raw counts')]


def continuation_counts(counts):
    return np.asarray(counts, dtype=np.float64).sum(axis=0)  # wrong: count the distinct left contexts (c > 0)
