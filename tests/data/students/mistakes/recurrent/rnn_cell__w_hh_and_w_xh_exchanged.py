"""A student's RNN cell that applies W_xh to the hidden state and W_hh to the input."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.rnn_cell', 'W_hh and W_xh exchanged')]


def rnn_cell(x, h_prev, W_hh, W_xh, b):
    """h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), on row vectors."""
    x, h_prev = np.asarray(x, dtype=np.float64), np.asarray(h_prev, dtype=np.float64)
    a = h_prev @ np.asarray(W_xh).T + x @ np.asarray(W_hh).T + b  # wrong: W_hh h + W_xh x
    return np.tanh(a)
