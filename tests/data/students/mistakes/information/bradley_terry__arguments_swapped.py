"""A student's Bradley-Terry probability with the rewards exchanged."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.bradley_terry', 'arguments swapped')]


def bradley_terry(r1, r2):
    d = np.asarray(r2, dtype=np.float64) - np.asarray(r1, dtype=np.float64)  # wrong: sigma(r1 - r2)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-d))
