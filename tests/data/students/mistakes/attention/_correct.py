"""A correct student module for the attention equations that have known mistakes, written from
attention_math.md's equations (must pass with no hint).
"""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = []


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


def softmax(z, tau=1.0):
    """softmax(z / tau) over the last axis."""
    return _softmax(np.asarray(z, dtype=np.float64) / tau)


def additive_score(h_enc, s, W1, W2, v):
    """Bahdanau's e_j = v^T tanh(W1 h_j + W2 s) for every encoder state h_j (rows of h_enc)."""
    return np.tanh(np.asarray(h_enc) @ np.asarray(W1).T + np.asarray(W2) @ np.asarray(s)) @ np.asarray(v)


def dot_product_scores(Q, K):
    """e_ij = q_i . k_j: Q (..., n, d_k), K (..., m, d_k) -> (..., n, m)."""
    return np.asarray(Q) @ np.swapaxes(np.asarray(K), -1, -2)


def scaled_dot_product_attention(Q, K, V, mask=None):
    """softmax(Q K^T / sqrt(d_k)) V, masked keys get -inf before the softmax; returns (output, weights)."""
    Q, K, V = (np.asarray(a, dtype=np.float64) for a in (Q, K, V))
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = _softmax(scores)
    return weights @ V, weights


def causal_masked_scores(Z):
    """Keep Z_ij for j <= i, -inf above the diagonal."""
    Z = np.asarray(Z, dtype=np.float64)
    n, m = Z.shape[-2:]
    keep = np.tril(np.ones((n, m), dtype=bool))
    return np.where(keep, Z, -np.inf)


def multi_head_attention(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask=None):
    """Project, split d_model into n_heads contiguous blocks, attend per head, concat, project with W_o.
    Returns (output (..., n, d_model), weights (..., n_heads, n, m))."""
    Q, K, V = X_q @ W_q, X_kv @ W_k, X_kv @ W_v
    d = Q.shape[-1] // n_heads
    heads, weights = [], []
    for h in range(n_heads):
        cols = slice(h * d, (h + 1) * d)
        out, w = scaled_dot_product_attention(Q[..., cols], K[..., cols], V[..., cols], mask)
        heads.append(out)
        weights.append(w)
    return np.concatenate(heads, axis=-1) @ W_o, np.stack(weights, axis=-3)
