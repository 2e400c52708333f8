"""rnn_cell with a sigmoid where the page has tanh."""

import numpy as np


def rnn_cell(x, h_prev, W_hh, W_xh, b):
    a = np.asarray(h_prev) @ np.asarray(W_hh).T + np.asarray(x) @ np.asarray(W_xh).T + b
    return 1.0 / (1.0 + np.exp(-a))  # the mistake: sigmoid, not tanh
