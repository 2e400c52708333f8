"""lstm_cell whose forget gate leaves out its bias b_f (everything else as the page writes it)."""

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    hx = np.concatenate([np.asarray(h_prev, dtype=np.float64), np.asarray(x, dtype=np.float64)], axis=-1)
    f = _sigmoid(hx @ np.asarray(W_f).T)  # the mistake: + b_f forgotten
    i = _sigmoid(hx @ np.asarray(W_i).T + b_i)
    c_tilde = np.tanh(hx @ np.asarray(W_c).T + b_c)
    o = _sigmoid(hx @ np.asarray(W_o).T + b_o)
    c = f * c_prev + i * c_tilde
    return o * np.tanh(c), c
