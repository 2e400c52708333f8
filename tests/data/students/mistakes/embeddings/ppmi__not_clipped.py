"""A student's PPMI that forgets to clip at 0."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.ppmi', 'not clipped')]


def ppmi(X):
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(divide="ignore"):
        pmi = np.log(X) + np.log(X.sum()) - np.log(X.sum(axis=1))[:, None] - np.log(X.sum(axis=0))[None, :]
    return pmi  # wrong: positive PMI is max(PMI, 0)
