"""A student's exponential schedule that gives the probability of feeding the prediction."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('seq2seq.scheduled_sampling_exponential', '1 - k^i')]


def scheduled_sampling_exponential(i, k):
    return 1.0 - float(k) ** np.asarray(i, dtype=np.float64)  # wrong: epsilon_i = k^i
