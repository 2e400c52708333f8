"""Attention, SymPy symbolic forms (course page: attention_math.md).

The definitions, exact on rational inputs (``sympy.Matrix``, one matrix per
call: no batch dimensions), plus the derivations the page states:

* :func:`softmax_temperature_limit`: tau -> 0+ gives the one-hot on the argmax
  (ties share equally), tau -> oo gives the uniform distribution, as limits;
* :func:`dot_product_moments` and :func:`dot_product_variance_proof`:
  E[q.k] = 0 and Var(q.k) = d_k for i.i.d. zero-mean unit-variance components,
  derived with sympy.stats;
* :func:`attention_macs`: T^2 d_k and T^2 d_v as polynomials.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
from sympy import stats

from reference.numpy.attention import check_n_heads, check_qkv_shapes

# -- helpers ------------------------------------------------------------------


def _rows(M):
    """A Matrix stays a Matrix; a 1-D sequence becomes a one-row Matrix."""
    if isinstance(M, sp.MatrixBase):
        return M, True
    return sp.Matrix([list(M)]), False


def _same_kind(M, was_matrix):
    return M if was_matrix else sp.ImmutableDenseNDimArray(list(M), (M.shape[1],))


# -- equations ----------------------------------------------------------------


def softmax(z, tau=1):
    """softmax(z_i; tau) = exp(z_i / tau) / sum_j exp(z_j / tau), row-wise; -oo entries get weight 0.

    A row that is entirely -oo gets all-zero weights (the suite's convention for
    a fully masked query; see reference/numpy/attention.py).
    """
    tau = sp.sympify(tau)
    if tau.is_positive is False:
        raise ValueError(f"softmax: temperature tau must be > 0, got {tau}")
    Z, was_matrix = _rows(z)
    out = sp.zeros(*Z.shape)
    for i in range(Z.shape[0]):
        finite = [Z[i, j] for j in range(Z.shape[1]) if Z[i, j] != -sp.oo]
        if not finite:
            continue
        denom = sum(sp.exp(x / tau) for x in finite)
        for j in range(Z.shape[1]):
            out[i, j] = 0 if Z[i, j] == -sp.oo else sp.exp(Z[i, j] / tau) / denom
    return _same_kind(out, was_matrix)


def softmax_temperature_limit(z, tau_limit):
    """lim softmax(z; tau) as tau -> 0+ (tau_limit=0) or tau -> oo (tau_limit=oo), by sympy.limit."""
    tau = sp.Symbol("tau", positive=True)
    Z, was_matrix = _rows(z)
    point = sp.oo if tau_limit in (sp.oo, float("inf")) else 0
    if point == 0 and tau_limit != 0:
        raise ValueError(f"softmax_temperature_limit: tau_limit must be 0 or oo, got {tau_limit!r}")
    out = sp.zeros(*Z.shape)
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            # softmax_j = 1 / sum_l exp((z_l - z_j) / tau): each term has a limit of its own
            expr = 1 / sum(sp.exp((Z[i, l] - Z[i, j]) / tau) for l in range(Z.shape[1]))
            out[i, j] = sp.limit(expr, tau, point, "+" if point == 0 else "-")
    return _same_kind(out, was_matrix)


def additive_score(h_enc, s, W1, W2, v):
    """e_{t,j} = v^T tanh(W1 h_j^enc + W2 s_t), one score per encoder position j."""
    h_enc, s, v = sp.Matrix(h_enc), sp.Matrix(list(s)), sp.Matrix(list(v))
    W1, W2 = sp.Matrix(W1), sp.Matrix(W2)
    scores = []
    for j in range(h_enc.shape[0]):
        pre = W1 * h_enc[j, :].T + W2 * s
        scores.append((v.T * pre.applyfunc(sp.tanh))[0, 0])
    return sp.ImmutableDenseNDimArray(scores, (len(scores),))


def dot_product_scores(Q, K):
    """e_{i,j} = q_i^T k_j: the matrix Q K^T."""
    return sp.Matrix(Q) * sp.Matrix(K).T


def scaled_dot_product_attention(Q, K, V, mask=None):
    """softmax(Q K^T / sqrt(d_k)) V, exactly; returns (output, weights)."""
    Q, K, V = sp.Matrix(Q), sp.Matrix(K), sp.Matrix(V)
    check_qkv_shapes("scaled_dot_product_attention", Q.shape, K.shape, V.shape,
                     None if mask is None else np.shape(mask))
    Z = dot_product_scores(Q, K) / sp.sqrt(Q.shape[1])
    if mask is not None:
        Z = sp.Matrix(Z.shape[0], Z.shape[1], lambda i, j: Z[i, j] if bool(mask[i, j]) else -sp.oo)
    W = softmax(Z)
    return W * V, W


def causal_mask(T):
    """Keep-mask: 1 where j <= i."""
    return sp.Matrix(T, T, lambda i, j: 1 if j <= i else 0)


def causal_masked_scores(Z):
    """Z'_{i,j} = Z_{i,j} if j <= i else -oo."""
    Z = sp.Matrix(Z)
    return sp.Matrix(Z.shape[0], Z.shape[1], lambda i, j: Z[i, j] if j <= i else -sp.oo)


def split_heads(X, n_heads):
    """The column blocks of X: head h gets columns h*d:(h+1)*d."""
    X = sp.Matrix(X)
    check_n_heads("split_heads", X.shape[1], n_heads)
    d = X.shape[1] // n_heads
    return [X[:, h * d:(h + 1) * d] for h in range(n_heads)]


def multi_head_attention(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask=None):
    """concat_h(head_h) W_O, head_h = softmax(Q_h K_h^T / sqrt(d_k)) V_h, Q_h = X W_h^Q.

    Returns (output, [weights of head h for each h]) - weights as a list of matrices.
    """
    X_q, X_kv = sp.Matrix(X_q), sp.Matrix(X_kv)
    check_n_heads("multi_head_attention", X_q.shape[1], n_heads)
    qs = split_heads(X_q * sp.Matrix(W_q), n_heads)
    ks = split_heads(X_kv * sp.Matrix(W_k), n_heads)
    vs = split_heads(X_kv * sp.Matrix(W_v), n_heads)
    heads, weights = [], []
    for q, k, v in zip(qs, ks, vs):
        o, w = scaled_dot_product_attention(q, k, v, mask=mask)
        heads.append(o)
        weights.append(w)
    concat = sp.Matrix.hstack(*heads)
    W = sp.ImmutableDenseNDimArray([w[i, j] for w in weights for i in range(w.shape[0]) for j in range(w.shape[1])],
                                   (len(weights), weights[0].shape[0], weights[0].shape[1]))
    return concat * sp.Matrix(W_o), W


def dot_product_moments(mean_q, var_q, mean_k, var_k):
    """(E[q^T k], Var(q^T k)) for independent components, from the moment algebra.

    Independence gives E[q_i k_i] = E[q_i] E[k_i] and
    E[(q_i k_i)^2] = E[q_i^2] E[k_i^2] = (s_qi + mu_qi^2)(s_ki + mu_ki^2);
    the d_k terms are independent, so their variances add.
    """
    mean = sum(mq * mk for mq, mk in zip(mean_q, mean_k))
    var = sum((sq + mq**2) * (sk + mk**2) - (mq * mk) ** 2 for mq, mk, sq, sk in zip(mean_q, mean_k, var_q, var_k))
    return sp.expand(mean), sp.expand(var)


def dot_product_variance_proof(d_k, distribution="normal"):
    """E[q.k] and Var(q.k) computed by sympy.stats for d_k i.i.d. zero-mean, unit-variance components.

    ``distribution``: 'normal' (N(0, 1)), 'uniform' (U(-sqrt 3, sqrt 3)) or 'rademacher' (+-1).
    Returns (mean, variance) as exact SymPy numbers; the page claims (0, d_k).
    """
    def rv(name):
        if distribution == "normal":
            return stats.Normal(name, 0, 1)
        if distribution == "uniform":
            return stats.Uniform(name, -sp.sqrt(3), sp.sqrt(3))
        if distribution == "rademacher":
            return stats.DiscreteUniform(name, [-1, 1])
        raise ValueError(f"dot_product_variance_proof: unknown distribution {distribution!r}")

    q = [rv(f"q{i}") for i in range(d_k)]
    k = [rv(f"k{i}") for i in range(d_k)]
    # Independence: the expectation of a sum is the sum of expectations, and the
    # variance of a sum of independent terms is the sum of their variances.
    terms = [qi * ki for qi, ki in zip(q, k)]
    mean = sp.simplify(sum(stats.E(t) for t in terms))
    var = sp.simplify(sum(stats.variance(t) for t in terms))
    return mean, var


def attention_macs(T, d_k, d_v):
    """(T^2 d_k, T^2 d_v): each of the T^2 scores is a d_k-term dot product, each output a T-term sum."""
    T, d_k, d_v = (sp.sympify(x) for x in (T, d_k, d_v))
    return T**2 * d_k, T**2 * d_v


def flash_attention(Q, K, V, block_size=2, causal=False):
    """Online-softmax tiled attention, exactly (same algorithm as the NumPy reference)."""
    if block_size < 1:
        raise ValueError(f"flash_attention: block_size must be >= 1, got {block_size}")
    Q, K, V = sp.Matrix(Q), sp.Matrix(K), sp.Matrix(V)
    n, d_k = Q.shape
    scale = 1 / sp.sqrt(d_k)
    out = sp.zeros(n, V.shape[1])
    for i in range(n):
        m, l, o = -sp.oo, sp.Integer(0), sp.zeros(1, V.shape[1])
        for start in range(0, K.shape[0], block_size):
            cols = [j for j in range(start, min(start + block_size, K.shape[0])) if not causal or j <= i]
            if not cols:
                continue
            s = [(Q[i, :] * K[j, :].T)[0, 0] * scale for j in cols]
            m_new = sp.Max(m, *s)
            alpha = 0 if m == -sp.oo else sp.exp(m - m_new)
            p = [sp.exp(x - m_new) for x in s]
            l = alpha * l + sum(p)
            o = alpha * o + sum((pj * V[j, :] for pj, j in zip(p, cols)), sp.zeros(1, V.shape[1]))
            m = m_new
        if l != 0:
            out[i, :] = o / l
    return out


def elu_feature_map(X):
    """phi(x) = x + 1 for x > 0, exp(x) otherwise."""
    return sp.Matrix(X).applyfunc(lambda x: x + 1 if x > 0 else sp.exp(x))


def linear_attention(Q, K, V, causal=True):
    """Row-normalised phi(Q) phi(K)^T V (lower triangle when causal)."""
    A = elu_feature_map(Q) * elu_feature_map(K).T
    if causal:
        A = sp.Matrix(A.shape[0], A.shape[1], lambda i, j: A[i, j] if j <= i else 0)
    num = A * sp.Matrix(V)
    return sp.Matrix(num.shape[0], num.shape[1], lambda i, j: num[i, j] / sum(A.row(i)))


def linear_attention_recurrent(Q, K, V):
    """S_i = S_{i-1} + phi(k_i) v_i^T, z_i = z_{i-1} + phi(k_i), out_i = phi(q_i)^T S_i / phi(q_i)^T z_i."""
    fQ, fK, V = elu_feature_map(Q), elu_feature_map(K), sp.Matrix(V)
    S = sp.zeros(fK.shape[1], V.shape[1])
    z = sp.zeros(fK.shape[1], 1)
    rows = []
    for i in range(fQ.shape[0]):
        S = S + fK[i, :].T * V[i, :]
        z = z + fK[i, :].T
        rows.append((fQ[i, :] * S) / (fQ[i, :] * z)[0, 0])
    return sp.Matrix.vstack(*rows)
