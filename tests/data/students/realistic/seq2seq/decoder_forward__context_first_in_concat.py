"""decoder_forward whose feed='concat' input is [c; y_{t-1}] (the page's order is [y_{t-1}; c])."""

import numpy as np


def decoder_forward(ys_prev, c, W_hh, W_xh, b, feed="init"):
    ys_prev, c = np.asarray(ys_prev, dtype=np.float64), np.asarray(c, dtype=np.float64)
    W_hh, W_xh = np.asarray(W_hh, dtype=np.float64), np.asarray(W_xh, dtype=np.float64)
    if feed == "init":
        h = c
    else:
        h = np.zeros(ys_prev.shape[:-2] + (W_hh.shape[0],))
    hs = []
    for t in range(ys_prev.shape[-2]):
        y = ys_prev[..., t, :]
        x = y if feed == "init" else np.concatenate([c, y], axis=-1)  # the mistake: c first
        h = np.tanh(h @ W_hh.T + x @ W_xh.T + b)
        hs.append(h)
    return np.stack(hs, axis=-2)
