"""A student's decoder that starts from zeros and never uses the context when feed='init'."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('seq2seq.decoder_recurrence', 'h_0 = 0')]


def _rnn(xs, h, W_hh, W_xh, b):
    """Elman steps h_t = tanh(W_hh h_{t-1} + W_xh x_t + b); returns every h_1..h_T, (T, d_h)."""
    out = []
    for t in range(xs.shape[-2]):
        h = np.tanh(h @ np.asarray(W_hh).T + xs[..., t, :] @ np.asarray(W_xh).T + b)
        out.append(h)
    return np.stack(out, axis=-2)


def decoder_forward(ys_prev, c, W_hh, W_xh, b, feed="init"):
    """feed='init': h_0 = c, inputs y_{t-1}; feed='concat': h_0 = 0, inputs [y_{t-1}; c]."""
    ys_prev, c = np.asarray(ys_prev, dtype=np.float64), np.asarray(c, dtype=np.float64)
    d_h = np.asarray(W_hh).shape[0]
    if feed == "init":
        h0 = np.zeros(c.shape)  # wrong: feed='init' starts from h_0 = c
        return _rnn(ys_prev, h0, W_hh, W_xh, b)
    cs = np.broadcast_to(c[..., None, :], ys_prev.shape[:-1] + c.shape[-1:])
    return _rnn(np.concatenate([ys_prev, cs], axis=-1), np.zeros(ys_prev.shape[:-2] + (d_h,)), W_hh, W_xh, b)
