"""skipgram_gradient that returns the gradient of the LOSS -log P(o | w_I) (both parts with the sign flipped);
the equation is the gradient of log P(o | w_I)."""

import numpy as np


def skipgram_gradient(v_I, E_out, o):
    v_I, E_out = np.asarray(v_I, dtype=np.float64), np.asarray(E_out, dtype=np.float64)
    s = E_out @ v_I
    p = np.exp(s - s.max())
    p /= p.sum()
    onehot = np.zeros(len(p))
    onehot[o] = 1.0
    return p @ E_out - E_out[o], np.outer(p - onehot, v_I)  # the mistake: the loss's gradient
