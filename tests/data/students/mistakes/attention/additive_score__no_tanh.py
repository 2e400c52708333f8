"""A student's additive score without the tanh."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('attention.additive_score', 'no tanh')]


def additive_score(h_enc, s, W1, W2, v):
    hidden = np.asarray(h_enc) @ np.asarray(W1).T + np.asarray(W2) @ np.asarray(s)  # wrong: tanh(...) forgotten
    return hidden @ np.asarray(v)
