"""lstm_cell with a tanh for the output gate o (the page: a sigmoid, like the other two gates)."""

import numpy as np


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    hx = np.concatenate([np.asarray(h_prev, dtype=np.float64), np.asarray(x, dtype=np.float64)], axis=-1)
    f = _sigmoid(hx @ np.asarray(W_f).T + b_f)
    i = _sigmoid(hx @ np.asarray(W_i).T + b_i)
    c_tilde = np.tanh(hx @ np.asarray(W_c).T + b_c)
    o = np.tanh(hx @ np.asarray(W_o).T + b_o)  # the mistake: tanh, not sigmoid
    c = f * c_prev + i * c_tilde
    return o * np.tanh(c), c
