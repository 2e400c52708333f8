"""A student's GloVe loss without f(X_ij)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.glove_loss', 'no weighting')]


def glove_loss(W, W_tilde, b, b_tilde, X, x_max=100.0, alpha=0.75):
    """J = sum over X_ij > 0 of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2."""
    X = np.asarray(X, dtype=np.float64)
    seen = X > 0
    r = np.asarray(W) @ np.asarray(W_tilde).T + np.asarray(b)[:, None] + np.asarray(b_tilde)[None, :] \
        - np.log(np.where(seen, X, 1.0))
    terms = r ** 2  # wrong: weighted by f(X_ij)
    return float(np.sum(np.where(seen, terms, 0.0)))
