"""A correct student module for the seq2seq equations that have known mistakes, written from
sequence_to_sequence.md's equations (must pass with no hint).
"""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = []


def _softmax(e, axis=-1):
    """Softmax along ``axis``; a slice of -inf only (all masked) gets zeros."""
    m = e.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    x = np.exp(e - m)
    s = x.sum(axis=axis, keepdims=True)
    return np.divide(x, s, out=np.zeros_like(x), where=s > 0)


def context_vector(hs_enc):
    """c = h_T, the last encoder state."""
    return np.asarray(hs_enc, dtype=np.float64)[..., -1, :]


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
        h0 = c
        return _rnn(ys_prev, h0, W_hh, W_xh, b)
    cs = np.broadcast_to(c[..., None, :], ys_prev.shape[:-1] + c.shape[-1:])
    return _rnn(np.concatenate([ys_prev, cs], axis=-1), np.zeros(ys_prev.shape[:-2] + (d_h,)), W_hh, W_xh, b)


def alignment_weights(e, mask=None):
    """alpha_tj = softmax over the source positions j (last axis); masked positions get 0."""
    e = np.asarray(e, dtype=np.float64)
    if mask is not None:
        e = np.where(mask, e, -np.inf)
    return _softmax(e)


def context_from_weights(alpha, h_enc):
    """c_t = sum_j alpha_tj h_j."""
    return np.asarray(alpha, dtype=np.float64) @ np.asarray(h_enc, dtype=np.float64)


def luong_general_score(h_dec, h_enc, W_a):
    """e_j = h_dec^T W_a h_j for every source position j."""
    return np.asarray(h_enc, dtype=np.float64) @ np.asarray(W_a, dtype=np.float64).T @ np.asarray(h_dec, dtype=np.float64)


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
    inputs = np.concatenate([[bos], targets[:-1]]).astype(np.int64)
    hs = _rnn(np.asarray(E, dtype=np.float64)[inputs], np.asarray(h0, dtype=np.float64), W_hh, W_xh, b)
    return hs @ np.asarray(W_out).T + b_out


def sequence_log_likelihood(logits, targets):
    """log P(y_1..y_T) = sum_t log softmax(logits_t)[y_t]."""
    z = np.asarray(logits, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    log_p = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    t = np.asarray(targets).astype(np.int64)
    return np.sum(np.take_along_axis(log_p, t[..., None], axis=-1)[..., 0], axis=-1)


def scheduled_sampling_exponential(i, k):
    """epsilon_i = k^i (0 < k < 1): the probability of feeding the truth."""
    return float(k) ** np.asarray(i, dtype=np.float64)


def scheduled_sampling_inverse_sigmoid(i, k):
    """epsilon_i = k / (k + exp(i / k)) (k >= 1)."""
    return k / (k + np.exp(np.asarray(i, dtype=np.float64) / k))
