"""A student's PMI from raw counts (the total N forgotten)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.pmi', 'counts not normalised')]


def pmi(X):
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(divide="ignore"):
        # wrong: P(w, c) / (P(w) P(c)) = X_wc N / (X_w. X_.c): the log N term is missing
        return np.log(X) - np.log(X.sum(axis=1))[:, None] - np.log(X.sum(axis=0))[None, :]
