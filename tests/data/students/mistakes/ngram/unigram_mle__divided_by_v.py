"""A student's unigram MLE divided by the vocabulary size."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.unigram_mle', 'divided by V')]


def unigram_mle(counts):
    c = np.asarray(counts, dtype=np.float64)
    return c / c.shape[-1]  # wrong: divide by the number of tokens N, not of types V
