"""pmi in bits: log2 P(w, c) / (P(w) P(c)) (the page's PMI uses the natural log)."""

import numpy as np


def pmi(X):
    X = np.asarray(X, dtype=np.float64)
    N = X.sum()
    P_wc = X / N
    P_w = X.sum(axis=1, keepdims=True) / N
    P_c = X.sum(axis=0, keepdims=True) / N
    with np.errstate(divide="ignore"):
        return np.log2(P_wc / (P_w * P_c))  # the mistake: log2
