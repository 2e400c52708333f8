"""A wrong student recurrent module: PyTorch's conventions where the page has its own.

* lstm_cell stacks the gate matrices as the arguments come and splits them as nn.LSTM does
  (i, f, g, o), so it uses W_f as the input gate and W_i as the forget gate;
* gru_cell and gru_interpolate follow nn.GRU: h = (1 - z) n + z h_prev, reset after the hidden product.

Used by tests/test_recurrent_students.py: the suite must fail both, with hints naming the page's conventions.
"""
import numpy as np


def lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    W = np.concatenate([W_f, W_i, W_c, W_o])  # stacked as the arguments come...
    b = np.concatenate([b_f, b_i, b_c, b_o])
    z = np.concatenate([h_prev, x], axis=-1) @ W.T + b
    i, f, g, o = np.split(z, 4, axis=-1)  # ...and split as nn.LSTM does: i, f, g, o
    with np.errstate(over="ignore"):
        i, f, o = 1 / (1 + np.exp(-i)), 1 / (1 + np.exp(-f)), 1 / (1 + np.exp(-o))
    c = f * c_prev + i * np.tanh(g)
    return o * np.tanh(c), c


def _sig(z):
    return 1 / (1 + np.exp(-z))


def gru_cell(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    d_h = h_prev.shape[-1]
    hx = np.concatenate([h_prev, x], axis=-1)
    z = _sig(hx @ W_z.T + (0 if b_z is None else b_z))
    r = _sig(hx @ W_r.T + (0 if b_r is None else b_r))
    n = np.tanh(x @ W[:, d_h:].T + (0 if b is None else b) + r * (h_prev @ W[:, :d_h].T))
    return (1 - z) * n + z * h_prev


def gru_interpolate(h_prev, z, h_tilde):
    return (1 - z) * h_tilde + z * h_prev
