"""A student's LSTM candidate with a sigmoid."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.lstm_candidate', 'sigmoid candidate')]


def _sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))

def _hx(h_prev, x):
    """The page's [h_{t-1}; x_t]: hidden state first."""
    return np.concatenate([np.asarray(h_prev, dtype=np.float64), np.asarray(x, dtype=np.float64)], axis=-1)


def lstm_candidate(x, h_prev, W_c, b_c):
    return _sigmoid(_hx(h_prev, x) @ np.asarray(W_c).T + b_c)  # wrong: the candidate uses tanh
