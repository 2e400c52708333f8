"""Attention, NumPy float64 reference (course page: attention_math.md).

One function per equation, one line per step where the page has one step.
Arrays may carry leading batch dimensions: (..., n, d_k).

Conventions (tested in tests/test_attention.py):

* masks are boolean *keep* masks (True = may attend), as in the page's code
  and ``torch.nn.functional.scaled_dot_product_attention``;
* a masked score is -inf, so its softmax weight is exactly 0;
* NaN propagates: a row with a NaN logit (or a NaN query) gives NaN, never the zeros of a
  masked row (``torch.softmax`` and ``F.scaled_dot_product_attention`` also return NaN);
* a row whose every score is -inf (a fully masked query) gets all-zero
  weights and an all-zero output. Mathematically softmax is undefined there
  (0/0); this is what PyTorch's scaled_dot_product_attention returns since
  its "safe softmax" (2.5), and it is what "nothing may be attended to"
  should mean. A naive softmax gives NaN; the tests pin both facts.
"""

from __future__ import annotations

import numpy as np


def check_tau(fn, tau) -> float:
    """The temperature tau: one finite number > 0 (shared by the NumPy and PyTorch forms).

    TypeError for an array (of more than one value), a bool or a non-number; ValueError for
    tau <= 0, NaN or inf (the limits tau -> 0+ and tau -> inf are :func:`softmax_temperature_limit`).
    """
    shape = tuple(getattr(tau, "shape", ()))
    if shape != ():
        raise TypeError(f"{fn}: the temperature tau must be one number, got an array of shape {shape}")
    if isinstance(tau, (bool, np.bool_, str, bytes)):
        raise TypeError(f"{fn}: the temperature tau must be a number, got {type(tau).__name__} {tau!r}")
    try:
        t = float(tau)
    except (TypeError, ValueError):
        raise TypeError(f"{fn}: the temperature tau must be a number, got {type(tau).__name__} {tau!r}") from None
    if not (np.isfinite(t) and t > 0):
        raise ValueError(f"{fn}: temperature tau must be > 0 and finite, got {tau!r} "
                         "(the limits tau -> 0+ and tau -> inf are softmax_temperature_limit)")
    return t


def softmax(z, tau=1.0):
    """softmax(z_i; tau) = exp(z_i / tau) / sum_j exp(z_j / tau), over the last axis.

    Computed as exp((z_i - max z) / tau) / sum_j exp((z_j - max z) / tau): shifting *before*
    dividing keeps a tiny (even subnormal) tau from turning finite logits into inf - inf.
    Non-finite rows as ``torch.softmax``: a NaN or a +inf in a row makes the whole row NaN;
    -inf entries get weight 0; a row of only -inf (fully masked) gets all zeros (our
    convention, F.scaled_dot_product_attention's; torch.softmax gives NaN there).
    An empty last axis gives an empty result and a 0-d z gives 1.0, as torch.softmax.
    """
    tau = check_tau("softmax", tau)
    z = np.asarray(z, dtype=np.float64)
    if z.ndim == 0:
        return softmax(z[None], tau)[0]
    if z.shape[-1] == 0:
        return np.empty(z.shape)
    m = np.max(z, axis=-1, keepdims=True)  # NaN if the row has a NaN
    finite = np.isfinite(m)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        e = np.exp((z - np.where(finite, m, 0.0)) / tau)  # <= 1: exp() never overflows
    s = np.sum(e, axis=-1, keepdims=True)  # >= 1 where m is finite (the maximum contributes exp(0))
    out = e / np.where(finite, s, 1.0)
    out = np.where(m == -np.inf, 0.0, out)  # a fully masked (all -inf) row
    return np.where(np.isnan(m) | (m == np.inf), np.nan, out)  # NaN in, NaN out; +inf - inf is NaN in torch too


def softmax_temperature_limit(z, tau_limit):
    """The limits of softmax(z; tau): tau -> 0+ is the one-hot on the argmax (ties share
    equally), tau -> inf is uniform. ``tau_limit`` is 0 or np.inf."""
    z = np.asarray(z, dtype=np.float64)
    if tau_limit == 0:
        top = (z == z.max(axis=-1, keepdims=True)).astype(np.float64)
        return top / top.sum(axis=-1, keepdims=True)
    if tau_limit == np.inf:
        return np.full_like(z, 1.0 / z.shape[-1])
    raise ValueError(f"softmax_temperature_limit: tau_limit must be 0 or inf, got {tau_limit!r}")


def additive_score(h_enc, s, W1, W2, v):
    """Bahdanau: e_{t,j} = v^T tanh(W1 h_j^enc + W2 s_t), for every encoder position j.

    h_enc: (T_enc, d_h), s: (d_s,), W1: (d_a, d_h), W2: (d_a, d_s), v: (d_a,) -> (T_enc,)
    """
    return np.tanh(h_enc @ W1.T + W2 @ s) @ v


def dot_product_scores(Q, K):
    """e_{i,j} = q_i^T k_j for all pairs: Q K^T, shape (..., n, m)."""
    return np.asarray(Q) @ np.swapaxes(np.asarray(K), -1, -2)


def check_qkv_shapes(fn, Q_shape, K_shape, V_shape, mask_shape=None):
    """Named errors for shapes that do not fit (shared by the three forms: they pass ``.shape``)."""
    Q_shape, K_shape, V_shape = tuple(Q_shape), tuple(K_shape), tuple(V_shape)
    for name, shape in (("Q", Q_shape), ("K", K_shape), ("V", V_shape)):
        if len(shape) < 2:
            raise ValueError(f"{fn}: {name} must be (..., length, dim), got shape {shape}")
    if Q_shape[-1] != K_shape[-1]:
        raise ValueError(f"{fn}: Q has d_k = {Q_shape[-1]} but K has {K_shape[-1]} (shapes {Q_shape} and {K_shape}): "
                         "queries and keys must have the same dimension d_k")
    if K_shape[-2] != V_shape[-2]:
        raise ValueError(f"{fn}: K has {K_shape[-2]} positions but V has {V_shape[-2]} (shapes {K_shape} and "
                         f"{V_shape}): every key needs a value")
    if mask_shape is not None:
        want = Q_shape[:-2] + (Q_shape[-2], K_shape[-2])
        try:
            np.broadcast_shapes(tuple(mask_shape), want)
        except ValueError:
            raise ValueError(f"{fn}: mask of shape {tuple(mask_shape)} does not broadcast to the scores' shape {want} "
                             "(queries x keys)") from None


def check_n_heads(fn, d_model, n_heads):
    if isinstance(n_heads, bool) or not isinstance(n_heads, (int, np.integer)) or n_heads < 1:
        raise ValueError(f"{fn}: n_heads must be a positive integer, got {n_heads!r}")
    if d_model % n_heads:
        raise ValueError(f"{fn}: d_model={d_model} is not divisible by n_heads={n_heads}")


def scaled_dot_product_attention(Q, K, V, mask=None):
    """Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V; returns (output, weights).

    Q: (..., n, d_k), K: (..., m, d_k), V: (..., m, d_v), mask: boolean keep-mask
    broadcastable to (..., n, m). Output (..., n, d_v), weights (..., n, m).
    """
    Q, K, V = (np.asarray(a, dtype=np.float64) for a in (Q, K, V))
    check_qkv_shapes("scaled_dot_product_attention", Q.shape, K.shape, V.shape,
                     None if mask is None else np.shape(mask))
    d_k = Q.shape[-1]
    # d_k = 0: every score is the empty sum 0 (whatever the scale), so the weights are uniform and
    # the output is the mean of V, as F.scaled_dot_product_attention gives (not 0 / sqrt(0) = NaN)
    Z = dot_product_scores(Q, K) / np.sqrt(d_k) if d_k else np.zeros(Q.shape[:-1] + (K.shape[-2],))
    if mask is not None:
        Z = np.where(np.asarray(mask, dtype=bool), Z, -np.inf)
    W = softmax(Z)
    return W @ V, W


def causal_mask(T):
    """Keep-mask of a decoder: position i may attend to j <= i (lower triangle)."""
    return np.tril(np.ones((T, T), dtype=bool))


def causal_masked_scores(Z):
    """Z'_{i,j} = Z_{i,j} for j <= i, -inf for j > i (applied *before* the softmax)."""
    Z = np.asarray(Z, dtype=np.float64)
    n, m = Z.shape[-2:]
    return np.where(np.tril(np.ones((n, m), dtype=bool)), Z, -np.inf)


def split_heads(X, n_heads):
    """(..., T, d_model) -> (..., h, T, d_model/h): head h takes columns h*d:(h+1)*d."""
    *lead, T, d_model = X.shape
    check_n_heads("split_heads", d_model, n_heads)
    return np.swapaxes(X.reshape(*lead, T, n_heads, d_model // n_heads), -2, -3)


def multi_head_attention(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask=None):
    """head_h = softmax(Q_h K_h^T / sqrt(d_k)) V_h with Q_h = X W_h^Q, ...; output = concat(heads) W_O.

    X_q: (..., n, d_model), X_kv: (..., m, d_model); W_*: (d_model, d_model), acting on the
    right (Q = X W_q), head h using columns h*d_k:(h+1)*d_k. Returns (output (..., n, d_model),
    weights (..., h, n, m)).
    """
    check_n_heads("multi_head_attention", np.shape(X_q)[-1], n_heads)
    q = split_heads(X_q @ W_q, n_heads)
    k = split_heads(X_kv @ W_k, n_heads)
    v = split_heads(X_kv @ W_v, n_heads)
    heads, weights = scaled_dot_product_attention(q, k, v, mask=mask)
    concat = np.swapaxes(heads, -2, -3)
    concat = concat.reshape(*concat.shape[:-2], -1)
    return concat @ W_o, weights


def dot_product_moments(mean_q, var_q, mean_k, var_k):
    """Mean and variance of q^T k for independent components with the given means/variances.

    E[q^T k] = sum_i mu_qi mu_ki;
    Var(q^T k) = sum_i (s_qi s_ki + s_qi mu_ki^2 + s_ki mu_qi^2)   (independent terms add).
    For zero means and unit variances this is (0, d_k).
    """
    mean_q, var_q, mean_k, var_k = (np.asarray(a, dtype=np.float64) for a in (mean_q, var_q, mean_k, var_k))
    mean = np.sum(mean_q * mean_k, axis=-1)
    var = np.sum(var_q * var_k + var_q * mean_k**2 + var_k * mean_q**2, axis=-1)
    return mean, var


def check_sizes(fn, **sizes):
    """Sizes (lengths, dimensions) are integers >= 0: ValueError naming the argument (shared by both forms)."""
    for name, n in sizes.items():
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"{fn}: {name} must be >= 0 (an integer), got {n!r}")


def attention_macs(T, d_k, d_v):
    """Multiply-accumulates of one head: (T^2 d_k for Q K^T, T^2 d_v for weights @ V)."""
    check_sizes("attention_macs", T=T, d_k=d_k, d_v=d_v)
    return int(T) * int(T) * int(d_k), int(T) * int(T) * int(d_v)


def flash_attention(Q, K, V, block_size=2, causal=False):
    """Tiled attention with the online softmax (FlashAttention's algorithm), never forming T x T.

    Keys/values are visited in blocks; a running row maximum m, normaliser l and
    unnormalised output O are rescaled by exp(m_old - m_new) when the maximum grows.
    Equal to scaled_dot_product_attention(Q, K, V, causal_mask) up to rounding.
    """
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
        raise ValueError(f"flash_attention: block_size must be >= 1 (an integer), got {block_size!r}")
    Q, K, V = (np.asarray(a, dtype=np.float64) for a in (Q, K, V))
    check_qkv_shapes("flash_attention", Q.shape, K.shape, V.shape)
    n, d_k = Q.shape[-2:]
    m_keys = K.shape[-2]
    scale = 1.0 / np.sqrt(d_k) if d_k else 0.0  # d_k = 0: the scores are empty sums, 0 at any scale
    lead = Q.shape[:-2]
    m = np.full(lead + (n, 1), -np.inf)
    l = np.zeros(lead + (n, 1))
    O = np.zeros(lead + (n, V.shape[-1]))
    rows = np.arange(n)[:, None]
    for start in range(0, m_keys, block_size):
        Kb, Vb = K[..., start:start + block_size, :], V[..., start:start + block_size, :]
        S = (Q @ np.swapaxes(Kb, -1, -2)) * scale
        if causal:
            cols = np.arange(start, start + Kb.shape[-2])[None, :]
            S = np.where(cols <= rows, S, -np.inf)
        m_new = np.maximum(m, S.max(axis=-1, keepdims=True))
        safe = np.where(np.isfinite(m_new), m_new, 0.0)
        P = np.exp(S - safe)
        alpha = np.exp(np.where(np.isfinite(m), m - safe, -np.inf))
        l = alpha * l + P.sum(axis=-1, keepdims=True)
        O = alpha * O + P @ Vb
        m = m_new
    out = np.divide(O, l, out=np.zeros_like(O), where=l > 0)  # l == 0: a fully masked row gives zeros
    return np.where(np.isnan(l), np.nan, out)  # NaN in, NaN out: never the zeros of a masked row


def check_linear_dims(fn, Q_shape, K_shape):
    """Kernelised attention needs d_k >= 1: with d_k = 0 every kernel value phi(q).phi(k) is the empty sum 0,
    and the normaliser sum_j phi(q).phi(k_j) is 0, so every output would be 0/0."""
    if len(Q_shape) < 2 or len(K_shape) < 2:
        raise ValueError(f"{fn}: Q and K must be (..., length, d_k), got shapes {tuple(Q_shape)} and {tuple(K_shape)}")
    if Q_shape[-1] == 0 or K_shape[-1] == 0:
        raise ValueError(f"{fn}: d_k = 0 (Q {tuple(Q_shape)}, K {tuple(K_shape)}): the kernel phi(q).phi(k) is an "
                         "empty sum, so every normaliser is 0 and the output 0/0; expected d_k >= 1")


def elu_feature_map(X):
    """phi(x) = elu(x) + 1 (Katharopoulos et al., 2020): positive, so normalisers are > 0."""
    X = np.asarray(X, dtype=np.float64)
    return np.where(X > 0, X + 1.0, np.exp(np.minimum(X, 0.0)))


def linear_attention(Q, K, V, causal=True):
    """Parallel form: out_i = phi(q_i)^T sum_{j(<=i)} phi(k_j) v_j^T / phi(q_i)^T sum_{j(<=i)} phi(k_j).

    The softmax kernel exp(q.k/sqrt(d)) is replaced by phi(q)^T phi(k): A = phi(Q) phi(K)^T, row-normalised.
    """
    check_linear_dims("linear_attention", np.shape(Q), np.shape(K))
    fQ, fK = elu_feature_map(Q), elu_feature_map(K)
    A = fQ @ np.swapaxes(fK, -1, -2)
    if causal:
        A = np.tril(A)
    return (A @ V) / A.sum(axis=-1, keepdims=True)


def linear_attention_recurrent(Q, K, V):
    """Recurrent (causal) form: S_i = S_{i-1} + phi(k_i) v_i^T, z_i = z_{i-1} + phi(k_i);
    out_i = phi(q_i)^T S_i / phi(q_i)^T z_i. O(T) time, O(1) state per step."""
    check_linear_dims("linear_attention_recurrent", np.shape(Q), np.shape(K))
    fQ, fK = elu_feature_map(Q), elu_feature_map(K)
    V = np.asarray(V, dtype=np.float64)
    S = np.zeros(fK.shape[:-2] + (fK.shape[-1], V.shape[-1]))
    z = np.zeros(fK.shape[:-2] + (fK.shape[-1],))
    out = []
    for i in range(Q.shape[-2]):
        S = S + fK[..., i, :, None] * V[..., i, None, :]
        z = z + fK[..., i, :]
        num = np.einsum("...d,...dv->...v", fQ[..., i, :], S)
        out.append(num / np.einsum("...d,...d->...", fQ[..., i, :], z)[..., None])
    return np.stack(out, axis=-2)
