"""A student's interpolation that pairs lambda_1 with the highest order."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.interpolation', 'weights reversed')]


def interpolate(probabilities, weights):
    w = np.asarray(weights, dtype=np.float64)[::-1]  # wrong: the weights are given highest order first
    return np.tensordot(w, np.asarray(probabilities, dtype=np.float64), axes=1)
