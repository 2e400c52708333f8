"""glove_loss without the context bias b~_j."""

import numpy as np


def glove_loss(W, W_tilde, b, b_tilde, X, x_max=100.0, alpha=0.75):
    W, W_tilde, b, X = (np.asarray(a, dtype=np.float64) for a in (W, W_tilde, b, X))
    J = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if X[i, j] > 0:
                f = min((X[i, j] / x_max) ** alpha, 1.0)
                J += f * (W[i] @ W_tilde[j] + b[i] - np.log(X[i, j])) ** 2  # the mistake: + b_tilde[j] missing
    return J
