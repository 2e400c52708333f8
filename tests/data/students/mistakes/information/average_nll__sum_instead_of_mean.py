"""A student's average NLL that forgets the 1/T."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.average_nll', 'sum instead of mean')]


def average_nll(q_true, base=None):
    with np.errstate(divide="ignore"):
        total = -np.sum(np.log(np.asarray(q_true, dtype=np.float64)), axis=-1)  # wrong: no 1/T
    return total if base is None else total / np.log(base)
