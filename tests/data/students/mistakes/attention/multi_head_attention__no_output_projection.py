"""A student's multi-head attention that returns concat(heads) without W_O."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('attention.multi_head', 'no output projection')]


def _softmax(z):
    """Softmax over the last axis; a row of -inf only (every key masked) gets zeros, NaN stays NaN."""
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(z - m)
    s = e.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = e / s
    return np.where(s > 0, w, np.where(np.isnan(s), np.nan, 0.0))


def _attention(Q, K, V, mask=None):
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    w = _softmax(scores)
    return w @ V, w


def multi_head_attention(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask=None):
    Q, K, V = X_q @ W_q, X_kv @ W_k, X_kv @ W_v
    d_model = Q.shape[-1]
    d = d_model // n_heads
    out = np.zeros(Q.shape)
    weights = []
    for h in range(n_heads):
        cols = slice(h * d, (h + 1) * d)
        o, w = _attention(Q[..., cols], K[..., cols], V[..., cols], mask)
        out[..., cols] = o
        weights.append(w)
    output = out  # wrong: W_o forgotten
    return output, np.stack(weights, axis=-3)
