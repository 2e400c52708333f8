"""bahdanau_attention that never applies the mask: padded source positions get weight too."""

import numpy as np


def bahdanau_attention(h_enc, s_prev, W1, W2, v, mask=None):
    h_enc, s_prev = np.asarray(h_enc, dtype=np.float64), np.asarray(s_prev, dtype=np.float64)
    e = np.tanh(h_enc @ np.asarray(W1).T + np.asarray(W2) @ s_prev) @ np.asarray(v)
    alpha = np.exp(e - e.max())  # the mistake: mask not used
    alpha = alpha / alpha.sum()
    return alpha @ h_enc, alpha
