"""Attention as PyTorch code writes it (the suite's own test data): tensors in, masked_fill with -inf and
torch.softmax, so a fully masked row is NaN (declared), (N, T, D) batches, and a causal-only multi-head
attention that declines the inputs it does not handle (NotSupported) instead of skipping the whole test."""

import math

import torch

from lmverify.students import NotSupported

LMVERIFY = {
    "scaled_dot_product_attention": dict(use="attention", array="torch", masked_rows="nan"),
    "softmax": dict(use="softmax_t", array="torch", masked_rows="nan"),
    "multi_head_attention": dict(use="causal_mha", array="torch", batch="required"),
}


def attention(Q, K, V, mask=None):
    scores = Q @ K.transpose(-2, -1) / math.sqrt(Q.shape[-1]) if Q.shape[-1] else Q.new_zeros(
        Q.shape[:-1] + (K.shape[-2],))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ V, weights


def softmax_t(z, tau=1.0):
    return torch.softmax(z / tau, dim=-1)


def causal_mha(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask=None):
    """Multi-head attention under a causal mask only (query i sees keys j <= i): any other input is declined."""
    T, S = X_q.shape[-2], X_kv.shape[-2]
    causal = torch.ones(T, S, dtype=torch.bool).tril()
    if mask is None or tuple(mask.shape[-2:]) != (T, S) or not bool((mask == causal).all()):
        raise NotSupported("a causal mask only")
    N, d = X_q.shape[0], X_q.shape[-1] // n_heads

    def heads(Y, L):
        return Y.reshape(N, L, n_heads, d).transpose(1, 2)

    q, k, v = heads(X_q @ W_q, T), heads(X_kv @ W_k, S), heads(X_kv @ W_v, S)
    out, weights = attention(q, k, v, causal)
    return out.transpose(1, 2).reshape(N, T, n_heads * d) @ W_o, weights
