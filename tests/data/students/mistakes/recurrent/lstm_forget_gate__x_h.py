"""A student's forget gate on [x_t; h_{t-1}] (input first)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.lstm_forget_gate', '[x; h]')]


def _sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def lstm_forget_gate(x, h_prev, W_f, b_f):
    xh = np.concatenate([np.asarray(x, dtype=np.float64), np.asarray(h_prev, dtype=np.float64)], axis=-1)  # wrong order
    return _sigmoid(xh @ np.asarray(W_f).T + b_f)
