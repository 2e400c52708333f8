"""lstm_forward whose hidden state drops the tanh on the cell: h_t = o_t * c_t (the page: o_t * tanh(c_t))."""

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_forward(xs, h0, c0, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    xs = np.asarray(xs, dtype=np.float64)
    h, c = np.asarray(h0, dtype=np.float64), np.asarray(c0, dtype=np.float64)
    hs, cs = [], []
    for t in range(xs.shape[-2]):
        hx = np.concatenate([h, xs[..., t, :]], axis=-1)
        f = _sigmoid(hx @ np.asarray(W_f).T + b_f)
        i = _sigmoid(hx @ np.asarray(W_i).T + b_i)
        c_tilde = np.tanh(hx @ np.asarray(W_c).T + b_c)
        o = _sigmoid(hx @ np.asarray(W_o).T + b_o)
        c = f * c + i * c_tilde
        h = o * c  # the mistake: no tanh on c
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=-2), np.stack(cs, axis=-2)
