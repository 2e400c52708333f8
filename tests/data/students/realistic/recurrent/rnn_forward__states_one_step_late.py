"""rnn_forward that appends the state BEFORE updating it: it returns h_0 .. h_{T-1} instead of h_1 .. h_T."""

import numpy as np


def rnn_forward(xs, h0, W_hh, W_xh, b):
    xs = np.asarray(xs, dtype=np.float64)
    h = np.asarray(h0, dtype=np.float64)
    hs = []
    for t in range(xs.shape[-2]):
        hs.append(h)  # the mistake: stored before the step
        h = np.tanh(h @ np.asarray(W_hh).T + xs[..., t, :] @ np.asarray(W_xh).T + b)
    return np.stack(hs, axis=-2)
