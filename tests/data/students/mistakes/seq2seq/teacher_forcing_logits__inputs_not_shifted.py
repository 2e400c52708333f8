"""A student's teacher forcing that feeds the token to predict."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('seq2seq.teacher_forcing', 'inputs not shifted')]


def _rnn(xs, h, W_hh, W_xh, b):
    """Elman steps h_t = tanh(W_hh h_{t-1} + W_xh x_t + b); returns every h_1..h_T, (T, d_h)."""
    out = []
    for t in range(xs.shape[-2]):
        h = np.tanh(h @ np.asarray(W_hh).T + xs[..., t, :] @ np.asarray(W_xh).T + b)
        out.append(h)
    return np.stack(out, axis=-2)


def teacher_forcing_logits(targets, h0, E, W_hh, W_xh, b, W_out, b_out, bos=0):
    """The decoder reads the TRUE previous token y_{t-1} (y_0 = bos); logits (T, V)."""
    targets = np.asarray(targets).astype(np.int64)
    inputs = targets  # wrong: the inputs are bos, y_1, ..., y_{T-1}
    hs = _rnn(np.asarray(E, dtype=np.float64)[inputs], np.asarray(h0, dtype=np.float64), W_hh, W_xh, b)
    return hs @ np.asarray(W_out).T + b_out
