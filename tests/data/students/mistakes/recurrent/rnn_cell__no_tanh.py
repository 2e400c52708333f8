"""A student's RNN cell without the tanh."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.rnn_cell', 'no tanh')]


def rnn_cell(x, h_prev, W_hh, W_xh, b):
    """h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), on row vectors."""
    x, h_prev = np.asarray(x, dtype=np.float64), np.asarray(h_prev, dtype=np.float64)
    a = h_prev @ np.asarray(W_hh).T + x @ np.asarray(W_xh).T + b
    return a  # wrong: h_t = tanh(a)
