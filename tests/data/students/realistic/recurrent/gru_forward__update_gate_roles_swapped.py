"""gru_forward with the update gate's roles swapped: h = z * h_prev + (1 - z) * h_tilde (the page: z takes the
candidate, h = (1 - z) * h_prev + z * h_tilde)."""

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def gru_forward(xs, h0, W_z, W_r, W, b_z=None, b_r=None, b=None):
    xs = np.asarray(xs, dtype=np.float64)
    h = np.asarray(h0, dtype=np.float64)
    b_z = 0.0 if b_z is None else b_z
    b_r = 0.0 if b_r is None else b_r
    b = 0.0 if b is None else b
    hs = []
    for t in range(xs.shape[-2]):
        x = xs[..., t, :]
        hx = np.concatenate([h, x], axis=-1)
        z = _sigmoid(hx @ np.asarray(W_z).T + b_z)
        r = _sigmoid(hx @ np.asarray(W_r).T + b_r)
        h_tilde = np.tanh(np.concatenate([r * h, x], axis=-1) @ np.asarray(W).T + b)
        h = z * h + (1.0 - z) * h_tilde  # the mistake: z and 1 - z exchanged
        hs.append(h)
    return np.stack(hs, axis=-2)
