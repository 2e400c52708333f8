"""A correct student module for the recurrent equations that have known mistakes, written from the recurrent
page's equations (must pass with no hint).
"""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = []


def _sigmoid(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))

def _hx(h_prev, x):
    """The page's [h_{t-1}; x_t]: hidden state first."""
    return np.concatenate([np.asarray(h_prev, dtype=np.float64), np.asarray(x, dtype=np.float64)], axis=-1)

def sequence_loss(logits, targets, ignore_index=None):
    """-(1/T) sum_t log softmax(logits_t)[w_t] over the positions whose target is not ignore_index."""
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets).astype(np.int64)
    m = z.max(axis=-1, keepdims=True)
    log_p = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_p, np.clip(t, 0, z.shape[-1] - 1)[..., None], axis=-1)[..., 0]
    keep = np.ones(t.shape, dtype=bool) if ignore_index is None else t != ignore_index
    return np.sum(np.where(keep, nll, 0.0)) / keep.sum()

def rnn_cell(x, h_prev, W_hh, W_xh, b):
    """h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), on row vectors."""
    x, h_prev = np.asarray(x, dtype=np.float64), np.asarray(h_prev, dtype=np.float64)
    a = h_prev @ np.asarray(W_hh).T + x @ np.asarray(W_xh).T + b
    return np.tanh(a)


def lstm_forget_gate(x, h_prev, W_f, b_f):
    """f_t = sigma(W_f [h_{t-1}; x_t] + b_f)."""
    return _sigmoid(_hx(h_prev, x) @ np.asarray(W_f).T + b_f)


def lstm_candidate(x, h_prev, W_c, b_c):
    """c_tilde_t = tanh(W_c [h_{t-1}; x_t] + b_c)."""
    return np.tanh(_hx(h_prev, x) @ np.asarray(W_c).T + b_c)


def lstm_cell_update(f, c_prev, i, c_tilde):
    """c_t = f_t * c_{t-1} + i_t * c_tilde_t."""
    return np.asarray(f) * c_prev + np.asarray(i) * c_tilde


def lstm_hidden(o, c):
    """h_t = o_t * tanh(c_t)."""
    return np.asarray(o) * np.tanh(c)


def lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """One LSTM step; every W acts on [h_{t-1}; x_t]; returns (h_t, c_t)."""
    hx = np.concatenate([h_prev, x], axis=-1)
    f = _sigmoid(hx @ W_f.T + b_f)
    i = _sigmoid(hx @ W_i.T + b_i)
    c_tilde = np.tanh(hx @ W_c.T + b_c)
    o = _sigmoid(hx @ W_o.T + b_o)
    c = f * c_prev + i * c_tilde
    h = o * np.tanh(c)
    return h, c


def gru_candidate(x, h_prev, r, W, b=None):
    """h_tilde = tanh(W [r * h_{t-1}; x_t] + b)."""
    return np.tanh(_hx(np.asarray(r) * h_prev, x) @ np.asarray(W).T + (0.0 if b is None else b))


def gru_interpolate(h_prev, z, h_tilde):
    """h_t = (1 - z) * h_{t-1} + z * h_tilde."""
    return (1 - np.asarray(z)) * h_prev + np.asarray(z) * h_tilde


def gru_cell(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    """z = sigma(W_z [h; x] + b_z), r = sigma(W_r [h; x] + b_r), h_tilde = tanh(W [r * h; x] + b),
    h_t = (1 - z) * h_{t-1} + z * h_tilde; biases are optional."""
    x, h_prev = np.asarray(x, dtype=np.float64), np.asarray(h_prev, dtype=np.float64)
    b_z, b_r, b = (0.0 if v is None else v for v in (b_z, b_r, b))
    hx = np.concatenate([h_prev, x], axis=-1)
    z = _sigmoid(hx @ np.asarray(W_z).T + b_z)
    r = _sigmoid(hx @ np.asarray(W_r).T + b_r)
    h_tilde = np.tanh(np.concatenate([r * h_prev, x], axis=-1) @ np.asarray(W).T + b)
    return (1 - z) * h_prev + z * h_tilde
