"""A student's unigram MLE with N the number of distinct words (len(set(tokens))) instead of all tokens."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.unigram_mle', 'N = distinct words')]


def unigram_mle(counts):
    c = np.asarray(counts, dtype=np.float64)
    N = np.count_nonzero(c, axis=-1)[..., None]  # wrong: len(set(tokens)); N is len(tokens) = the sum of the counts
    return c / N
