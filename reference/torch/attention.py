"""Attention, PyTorch implementation (course page: attention_math.md).

Same functions and signatures as reference/numpy/attention.py; batched over
leading dimensions, differentiable, float32 or float64 (whatever the inputs are).
The same conventions: boolean keep-masks, -inf for masked scores, all-zero
weights and output for a fully masked row (as F.scaled_dot_product_attention).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from reference.torch._common import accepts_numpy

from reference.numpy.attention import check_linear_dims, check_n_heads, check_qkv_shapes, check_sizes, check_tau


@accepts_numpy
def softmax(z, tau=1.0):
    """softmax(z_i; tau) = exp(z_i / tau) / sum_j exp(z_j / tau), over the last dimension.

    As the NumPy reference: shifted by the row maximum before dividing by tau (a subnormal tau
    stays finite); NaN or +inf in a row gives a NaN row and -inf a zero weight, as torch.softmax;
    a row of only -inf gives zeros; an empty last dimension gives an empty result, a 0-d z 1.
    """
    check_tau("softmax", tau)
    if not isinstance(z, torch.Tensor):
        raise TypeError(f"softmax: z must be a tensor or a NumPy array, got {type(z).__name__}")
    if not z.is_floating_point():
        z = z.to(torch.get_default_dtype())
    if z.dim() == 0:
        return softmax(z[None], tau)[0]
    if z.shape[-1] == 0:
        return z / tau
    m = z.amax(dim=-1, keepdim=True).detach()  # NaN if the row has a NaN
    finite = torch.isfinite(m)
    shifted = z - torch.where(finite, m, torch.zeros_like(m))
    if float(torch.as_tensor(float(tau), dtype=z.dtype)) == 0.0:  # tau underflows in z's dtype: divide in float64
        e = torch.exp(shifted.to(torch.float64) / tau).to(z.dtype)
    else:
        e = torch.exp(shifted / tau)  # <= 1 where m is finite
    s = e.sum(dim=-1, keepdim=True)
    out = e / torch.where(finite, s, torch.ones_like(s))
    out = torch.where(m == float("-inf"), torch.zeros_like(out), out)  # fully masked row
    return torch.where(torch.isnan(m) | (m == float("inf")), torch.full_like(out, float("nan")), out)


@accepts_numpy
def softmax_temperature_limit(z, tau_limit):
    """tau -> 0+: one-hot on the argmax (ties share equally); tau -> inf: uniform."""
    if tau_limit == 0:
        top = (z == z.amax(dim=-1, keepdim=True)).to(z.dtype)
        return top / top.sum(dim=-1, keepdim=True)
    if tau_limit == float("inf"):
        return torch.full_like(z, 1.0 / z.shape[-1])
    raise ValueError(f"softmax_temperature_limit: tau_limit must be 0 or inf, got {tau_limit!r}")


@accepts_numpy
def additive_score(h_enc, s, W1, W2, v):
    """Bahdanau: e_{t,j} = v^T tanh(W1 h_j^enc + W2 s_t) for every encoder position j."""
    return torch.tanh(h_enc @ W1.T + W2 @ s) @ v


@accepts_numpy
def dot_product_scores(Q, K):
    """e_{i,j} = q_i^T k_j: Q K^T, shape (..., n, m)."""
    return Q @ K.transpose(-2, -1)


@accepts_numpy
def scaled_dot_product_attention(Q, K, V, mask=None):
    """softmax(Q K^T / sqrt(d_k)) V; returns (output (..., n, d_v), weights (..., n, m))."""
    check_qkv_shapes("scaled_dot_product_attention", Q.shape, K.shape, V.shape,
                     None if mask is None else tuple(torch.as_tensor(mask).shape))
    d_k = Q.shape[-1]
    # d_k = 0: every score is the empty sum 0, so uniform weights (F.scaled_dot_product_attention's answer)
    Z = dot_product_scores(Q, K) / math.sqrt(d_k) if d_k else torch.zeros(
        Q.shape[:-1] + (K.shape[-2],), dtype=Q.dtype, device=Q.device)
    if mask is not None:
        Z = Z.masked_fill(~torch.as_tensor(mask, dtype=torch.bool), float("-inf"))
    W = softmax(Z)
    return W @ V, W


@accepts_numpy
def causal_mask(T):
    """Keep-mask of a decoder: position i may attend to j <= i."""
    return torch.tril(torch.ones(T, T, dtype=torch.bool))


@accepts_numpy
def causal_masked_scores(Z):
    """Z'_{i,j} = Z_{i,j} for j <= i, -inf for j > i."""
    n, m = Z.shape[-2:]
    keep = torch.tril(torch.ones(n, m, dtype=torch.bool, device=Z.device))
    return Z.masked_fill(~keep, float("-inf"))


@accepts_numpy
def split_heads(X, n_heads):
    """(..., T, d_model) -> (..., h, T, d_model/h): head h takes columns h*d:(h+1)*d."""
    *lead, T, d_model = X.shape
    check_n_heads("split_heads", d_model, n_heads)
    return X.reshape(*lead, T, n_heads, d_model // n_heads).transpose(-2, -3)


@accepts_numpy
def multi_head_attention(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask=None):
    """concat_h(softmax(Q_h K_h^T / sqrt(d_k)) V_h) W_O with Q_h = X W_q[:, cols of h], ...

    Returns (output (..., n, d_model), weights (..., h, n, m)).
    """
    check_n_heads("multi_head_attention", X_q.shape[-1], n_heads)
    q = split_heads(X_q @ W_q, n_heads)
    k = split_heads(X_kv @ W_k, n_heads)
    v = split_heads(X_kv @ W_v, n_heads)
    heads, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    concat = heads.transpose(-2, -3)
    concat = concat.reshape(*concat.shape[:-2], -1)
    return concat @ W_o, weights


@accepts_numpy
def dot_product_moments(mean_q, var_q, mean_k, var_k):
    """Mean and variance of q^T k for independent components (see the NumPy reference)."""
    mean = (mean_q * mean_k).sum(dim=-1)
    var = (var_q * var_k + var_q * mean_k**2 + var_k * mean_q**2).sum(dim=-1)
    return mean, var


@accepts_numpy
def attention_macs(T, d_k, d_v):
    """MACs of one head, *counted* by running attention under torch's FlopCounterMode.

    FlopCounterMode counts 2 FLOPs per multiply-accumulate of a matmul; the
    counts of the two matmuls (Q K^T and weights @ V) are returned as MACs.
    """
    from torch.utils.flop_counter import FlopCounterMode

    check_sizes("attention_macs", T=T, d_k=d_k, d_v=d_v)
    Q = torch.zeros(T, d_k, dtype=torch.float64)
    K = torch.zeros(T, d_k, dtype=torch.float64)
    V = torch.zeros(T, d_v, dtype=torch.float64)
    with FlopCounterMode(display=False) as fc:
        S = dot_product_scores(Q, K)
    qk = fc.get_total_flops() // 2
    W = softmax(S / math.sqrt(d_k) if d_k else S)
    with FlopCounterMode(display=False) as fc:
        W @ V
    av = fc.get_total_flops() // 2
    return int(qk), int(av)


@accepts_numpy
def flash_attention(Q, K, V, block_size=2, causal=False):
    """Tiled attention with the online softmax; equal to full attention up to rounding."""
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"flash_attention: block_size must be >= 1 (an integer), got {block_size!r}")
    check_qkv_shapes("flash_attention", Q.shape, K.shape, V.shape)
    n, d_k = Q.shape[-2:]
    scale = 1.0 / math.sqrt(d_k) if d_k else 0.0  # d_k = 0: the scores are empty sums, 0 at any scale
    lead = Q.shape[:-2]
    m = torch.full(lead + (n, 1), float("-inf"), dtype=Q.dtype)
    l = torch.zeros(lead + (n, 1), dtype=Q.dtype)
    O = torch.zeros(lead + (n, V.shape[-1]), dtype=Q.dtype)
    rows = torch.arange(n)[:, None]
    for start in range(0, K.shape[-2], block_size):
        Kb, Vb = K[..., start:start + block_size, :], V[..., start:start + block_size, :]
        S = (Q @ Kb.transpose(-2, -1)) * scale
        if causal:
            cols = torch.arange(start, start + Kb.shape[-2])[None, :]
            S = S.masked_fill(cols > rows, float("-inf"))
        m_new = torch.maximum(m, S.amax(dim=-1, keepdim=True))
        safe = torch.where(torch.isfinite(m_new), m_new, torch.zeros_like(m_new))
        P = torch.exp(S - safe)
        alpha = torch.where(torch.isfinite(m), torch.exp(m - safe), torch.zeros_like(m))
        l = alpha * l + P.sum(dim=-1, keepdim=True)
        O = alpha * O + P @ Vb
        m = m_new
    out = torch.where(l > 0, O / torch.where(l > 0, l, torch.ones_like(l)), torch.zeros_like(O))
    return torch.where(torch.isnan(l), torch.full_like(out, float("nan")), out)  # NaN in, NaN out


@accepts_numpy
def elu_feature_map(X):
    """phi(x) = elu(x) + 1."""
    return torch.nn.functional.elu(X) + 1.0


@accepts_numpy
def linear_attention(Q, K, V, causal=True):
    """Parallel form of kernelised attention: row-normalised phi(Q) phi(K)^T V (causal: lower triangle)."""
    check_linear_dims("linear_attention", Q.shape, K.shape)
    fQ, fK = elu_feature_map(Q), elu_feature_map(K)
    A = fQ @ fK.transpose(-2, -1)
    if causal:
        A = torch.tril(A)
    return (A @ V) / A.sum(dim=-1, keepdim=True)


@accepts_numpy
def linear_attention_recurrent(Q, K, V):
    """Recurrent causal form: S_i = S_{i-1} + phi(k_i) v_i^T, z_i = z_{i-1} + phi(k_i)."""
    check_linear_dims("linear_attention_recurrent", Q.shape, K.shape)
    fQ, fK = elu_feature_map(Q), elu_feature_map(K)
    S = torch.zeros(fK.shape[:-2] + (fK.shape[-1], V.shape[-1]), dtype=V.dtype)
    z = torch.zeros(fK.shape[:-2] + (fK.shape[-1],), dtype=V.dtype)
    out = []
    for i in range(Q.shape[-2]):
        S = S + fK[..., i, :, None] * V[..., i, None, :]
        z = z + fK[..., i, :]
        num = torch.einsum("...d,...dv->...v", fQ[..., i, :], S)
        out.append(num / torch.einsum("...d,...d->...", fQ[..., i, :], z)[..., None])
    return torch.stack(out, dim=-2)
