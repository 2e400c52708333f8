"""lstm_cell whose cell update keeps h_{t-1} instead of c_{t-1}: c = f * h_prev + i * c_tilde."""

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    hx = np.concatenate([np.asarray(h_prev, dtype=np.float64), np.asarray(x, dtype=np.float64)], axis=-1)
    f = _sigmoid(hx @ np.asarray(W_f).T + b_f)
    i = _sigmoid(hx @ np.asarray(W_i).T + b_i)
    c_tilde = np.tanh(hx @ np.asarray(W_c).T + b_c)
    o = _sigmoid(hx @ np.asarray(W_o).T + b_o)
    c = f * h_prev + i * c_tilde  # the mistake: h_prev for c_prev
    return o * np.tanh(c), c
