"""A student's LSTM cell with a sigmoid candidate."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.lstm_cell', 'sigmoid candidate')]


def _sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """One LSTM step; every W acts on [h_{t-1}; x_t]; returns (h_t, c_t)."""
    hx = np.concatenate([h_prev, x], axis=-1)
    f = _sigmoid(hx @ W_f.T + b_f)
    i = _sigmoid(hx @ W_i.T + b_i)
    c_tilde = _sigmoid(hx @ W_c.T + b_c)
    o = _sigmoid(hx @ W_o.T + b_o)
    c = f * c_prev + i * c_tilde
    h = o * np.tanh(c)
    return h, c
