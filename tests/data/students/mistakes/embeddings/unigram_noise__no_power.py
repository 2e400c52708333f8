"""A student's noise distribution without the 3/4 power."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.negative_sampling_noise', 'no power')]


def unigram_noise(counts, power=0.75):
    c = np.asarray(counts, dtype=np.float64)
    return c / c.sum()  # wrong: count ** power
