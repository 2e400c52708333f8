"""A student's RNN cell that multiplies row vectors by W instead of W^T."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.rnn_cell', 'W^T instead of W')]


def rnn_cell(x, h_prev, W_hh, W_xh, b):
    """h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), on row vectors."""
    x, h_prev = np.asarray(x, dtype=np.float64), np.asarray(h_prev, dtype=np.float64)
    a = h_prev @ np.asarray(W_hh) + x @ np.asarray(W_xh) + b  # wrong: rows need W.T
    return np.tanh(a)
