"""A student's inverse-sigmoid schedule with exp(i) instead of exp(i / k)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('seq2seq.scheduled_sampling_inverse_sigmoid', 'exp(i)')]


def scheduled_sampling_inverse_sigmoid(i, k):
    with np.errstate(over="ignore"):
        return k / (k + np.exp(np.asarray(i, dtype=np.float64)))  # wrong: exp(i / k)
