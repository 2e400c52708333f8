"""A recurrent module shaped as many course assignments are (the suite's own test data, written here):
(N, D) inputs only, weights acting from the right as (in, out), the four LSTM gates fused in one matrix in
the order i, f, o, g, and each step returning its output with a cache for the backward pass."""

import numpy as np

LMVERIFY = {
    "rnn_cell": dict(use="rnn_step_forward", params={"h_prev": "prev_h", "W_xh": "Wx", "W_hh": "Wh"},
                     weights="transposed", batch="one", returns=0),
    "rnn_forward": dict(use="rnn_forward_pass", params=["xs", "h0", "W_xh", "W_hh", "b"], weights="transposed",
                        batch="one", returns=0),
    "lstm_cell": dict(use="lstm_step_forward", gates="ifog", params=["x", "h_prev", "c_prev", "W_x", "W_h", "b"],
                      weights="transposed", batch="one", returns=(0, 1)),
    "lstm_forward": dict(use="lstm_forward_pass", gates="ifog", params=["xs", "h0", "W_x", "W_h", "b"],
                         weights="transposed", batch="one", returns=(0, 1)),
}


def _two_d(name, a):
    if a.ndim != 2:
        raise ValueError(f"{name} must be (N, D), got shape {a.shape}")


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    _two_d("x", x)
    _two_d("prev_h", prev_h)
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_forward_pass(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    h = np.zeros((N, T, h0.shape[1]))
    prev = h0
    for t in range(T):
        prev, _ = rnn_step_forward(x[:, t, :], prev, Wx, Wh, b)
        h[:, t, :] = prev
    return h, {"steps": T}


def _sigmoid(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    _two_d("x", x)
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o, g = _sigmoid(a[:, :H]), _sigmoid(a[:, H:2 * H]), _sigmoid(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    next_h = o * np.tanh(next_c)
    return next_h, next_c, (i, f, o, g)


def lstm_forward_pass(x, h0, Wx, Wh, b):
    N, T, _ = x.shape
    H = h0.shape[1]
    hs, cs = np.zeros((N, T, H)), np.zeros((N, T, H))
    h, c = h0, np.zeros_like(h0)
    for t in range(T):
        h, c, _ = lstm_step_forward(x[:, t, :], h, c, Wx, Wh, b)
        hs[:, t], cs[:, t] = h, c
    return hs, cs
