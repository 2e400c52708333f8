"""A student's GRU cell on [x_t; h_{t-1}] (input first)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.gru_cell', '[x; h]')]


def _sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def gru_cell(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    """z = sigma(W_z [h; x] + b_z), r = sigma(W_r [h; x] + b_r), h_tilde = tanh(W [r * h; x] + b),
    h_t = (1 - z) * h_{t-1} + z * h_tilde; biases are optional."""
    x, h_prev = np.asarray(x, dtype=np.float64), np.asarray(h_prev, dtype=np.float64)
    b_z, b_r, b = (0.0 if v is None else v for v in (b_z, b_r, b))
    hx = np.concatenate([x, h_prev], axis=-1)  # wrong: the page's [h; x]
    z = _sigmoid(hx @ np.asarray(W_z).T + b_z)
    r = _sigmoid(hx @ np.asarray(W_r).T + b_r)
    h_tilde = np.tanh(np.concatenate([x, r * h_prev], axis=-1) @ np.asarray(W).T + b)
    return (1 - z) * h_prev + z * h_tilde
