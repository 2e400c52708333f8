"""A correct student recurrent module, written from the page's equations (NumPy, rows are vectors).

Used by tests/test_recurrent_students.py: ``pytest -k lstm --impl tests/data/students/recurrent_page_student.py``
must pass. Every W of a gate acts on [h_prev; x] (hidden first), as the page writes it.
"""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def lstm_gates(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    hx = np.concatenate([h_prev, x], axis=-1)
    z_f, z_i, z_c, z_o = hx @ W_f.T + b_f, hx @ W_i.T + b_i, hx @ W_c.T + b_c, hx @ W_o.T + b_o
    with np.errstate(over="ignore"):
        f, i, o = sigmoid(z_f), sigmoid(z_i), sigmoid(z_o)
    c_tilde = np.tanh(z_c)
    c = f * c_prev + i * c_tilde
    return {"z_f": z_f, "z_i": z_i, "z_c": z_c, "z_o": z_o, "f": f, "i": i, "c_tilde": c_tilde, "o": o, "c": c,
            "tanh_c": np.tanh(c), "h": o * np.tanh(c)}


def lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    g = lstm_gates(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
    return g["h"], g["c"]


def lstm_forward(xs, h0, c0, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    h, c, hs, cs = h0, c0, [], []
    for t in range(xs.shape[-2]):
        h, c = lstm_cell(xs[..., t, :], h, c, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=-2), np.stack(cs, axis=-2)


def lstm_forget_gate(x, h_prev, W_f, b_f):
    with np.errstate(over="ignore"):
        return sigmoid(np.concatenate([h_prev, x], axis=-1) @ W_f.T + b_f)


def lstm_cell_update(f, c_prev, i, c_tilde):
    return f * c_prev + i * c_tilde


def lstm_hidden(o, c):
    return o * np.tanh(c)
