"""Registry entries of the attention topic (attention_math.md): inputs, pinned extremes, errors, mistakes.

Laws particular to one equation stay in tests/test_attention.py.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lmverify import strategies as S
from lmverify import tolerance as tol
from lmverify.registry import Equation, ErrorInput, Mistake, Pinned

# -- the page's own numbers (attention_math.md, "Worked Example: Four Tokens, d_k = 4") --------------
PAGE_Q = 2.0 * np.eye(4)
PAGE_K = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=np.float64)
PAGE_V = np.eye(4)

# -- inputs --------------------------------------------------------------------------------------


def _softmax_inputs(exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)

    @S.composite
    def draw(d):
        z = d(S.logits(max_rows=3, max_len=4, exact=exact))
        if lead:
            z = np.stack([z] + [d(hnp.arrays(np.float64, z.shape, elements=S.small_floats)) for _ in range(batch - 1)])
        return {"z": z, "tau": d(S.temperatures(exact=True))}

    return draw()


@S.composite
def _additive_inputs(draw, exact: bool = False, batch: int | None = None):
    T_enc, d_h, d_s, d_a = (draw(S.dims(3)) for _ in range(4))
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    return {"h_enc": arr((T_enc, d_h)), "s": arr((d_s,)), "W1": arr((d_a, d_h)), "W2": arr((d_a, d_s)),
            "v": arr((d_a,))}


def _qk_inputs(exact: bool = False, batch: int | None = None):
    return S.qkv_triples(max_len=3, max_dim=3, exact=exact, lead=() if batch is None else (batch,)).map(
        lambda t: {"Q": t["Q"], "K": t["K"]})


def _qkv_inputs(exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)
    return S.qkv_triples(max_len=3, max_dim=3, exact=exact, lead=lead)


@S.composite
def _masked_qkv_inputs(draw, exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)
    qkv = draw(S.qkv_triples(max_len=3, max_dim=3, exact=exact, lead=lead))
    mask = draw(st.none() | S.masks(qkv["Q"].shape[-2], qkv["K"].shape[-2]))
    return dict(qkv, mask=mask)


def _scores_inputs(exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)

    @S.composite
    def draw(d):
        n = d(S.dims(4))
        return {"Z": d(hnp.arrays(np.float64, lead + (n, n), elements=S.dyadic if exact else S.small_floats))}

    return draw()


def _causal_mask_inputs(exact: bool = False):
    return st.integers(1, 6).map(lambda t: {"T": t})


@S.composite
def _moment_inputs(draw, exact: bool = False):
    d = draw(S.dims(4))
    arr = lambda: draw(S.arrays((d,), exact=exact))  # noqa: E731
    return {"mean_q": arr(), "var_q": np.abs(arr()), "mean_k": arr(), "var_k": np.abs(arr())}


@S.composite
def _limit_inputs(draw, exact: bool = False):
    return {"z": draw(S.logits(max_rows=1, max_len=3, exact=True)), "tau_limit": draw(st.sampled_from([0, np.inf]))}


@S.composite
def _multi_head_inputs(draw, exact: bool = False):
    setup = draw(S.multi_head_setups(max_len=2, max_heads=2, max_head_dim=2, exact=exact) if exact
                 else S.multi_head_setups())
    return {k: setup[k] for k in ("X_q", "X_kv", "W_q", "W_k", "W_v", "W_o", "n_heads")}


@S.composite
def _flash_inputs(draw, exact: bool = False):
    qkv = draw(S.qkv_triples(self_attention=True, max_len=4, max_dim=3, exact=exact))
    return dict(qkv, block_size=draw(st.integers(1, 5)), causal=draw(st.booleans()))


@S.composite
def _linear_inputs(draw, exact: bool = False):
    qkv = draw(S.qkv_triples(self_attention=True, max_len=3, max_dim=2, exact=exact))
    return dict(qkv, causal=draw(st.booleans()))


def _linear_recurrent_inputs(exact: bool = False):
    return S.qkv_triples(self_attention=True, max_len=3, max_dim=2, exact=exact)


def _macs_inputs(exact: bool = False):
    # small sizes: the torch forms count the operations of real matrix products (the formula is exact at any size)
    return st.fixed_dictionaries({"T": st.integers(1, 48), "d_k": st.integers(1, 16), "d_v": st.integers(1, 16)})


# -- float32 conditioning (see lmverify/tolerance.py) ----------------------------------------------


def _kappa_multi_head(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads):
    """Projections (kappa_matmul each), then per-head attention on the projected magnitudes, then W_O."""
    Xq, Xkv = np.abs(X_q), np.abs(X_kv)
    q, k, v = Xq @ np.abs(W_q), Xkv @ np.abs(W_k), Xkv @ np.abs(W_v)
    d = X_q.shape[-1]
    proj = max(tol.kappa_matmul(X_q, W_q), tol.kappa_matmul(X_kv, W_k), tol.kappa_matmul(X_kv, W_v))
    head = tol.kappa_scaled_dot_product(q, k, v) + proj * (1 + 2 * np.max(q, initial=0) * np.max(k, initial=0) * d)
    return float((head + d + 2) * np.max(np.abs(W_o).sum(axis=0), initial=0.0))


def _kappa_linear(Q, K, V):
    """phi(x) = elu(x) + 1 <= |x| + 1; numerator and normaliser are sums of n d products; a ratio of two
    sums each off by (n d + 3)u relative, times max |V|, plus phi's own rounding (exp for x < 0)."""
    fQ, fK = np.abs(Q) + 1.0, np.abs(K) + 1.0
    n, d = K.shape[-2], K.shape[-1]
    A = fQ @ np.swapaxes(fK, -1, -2)
    Amin = np.min(np.exp(-np.abs(Q)) @ np.swapaxes(np.exp(-np.abs(K)), -1, -2), initial=np.inf)
    ratio = np.max(A, initial=0.0) / max(Amin, 1e-300)
    return float(np.max(np.abs(V), initial=0.0) * (2 * (n * d + 4) * ratio + 4))


# -- known student mistakes (NumPy, same parameters) --------------------------------------------------


def _softmax_np(Z):
    """The reference softmax: a mistake below changes one thing only, so its hint fires only where that
    one thing explains the student's result (not, say, where both give NaN on a fully masked row)."""
    from reference.numpy.attention import softmax

    return softmax(Z)


def _sdpa_unscaled(Q, K, V, mask=None):
    Z = Q @ np.swapaxes(K, -1, -2)
    if mask is not None:
        Z = np.where(mask, Z, -np.inf)
    W = _softmax_np(Z)
    return W @ V, W


def _sdpa_divided_by_dk(Q, K, V, mask=None):
    Z = Q @ np.swapaxes(K, -1, -2) / Q.shape[-1]
    if mask is not None:
        Z = np.where(mask, Z, -np.inf)
    W = _softmax_np(Z)
    return W @ V, W


def _sdpa_softmax_over_queries(Q, K, V, mask=None):
    Z = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    if mask is not None:
        Z = np.where(mask, Z, -np.inf)
    W = np.swapaxes(_softmax_np(np.swapaxes(Z, -1, -2)), -1, -2)
    return W @ V, W


def _softmax_times_tau(z, tau=1.0):
    return _softmax_np(np.asarray(z) * tau)


def _softmax_no_temperature(z, tau=1.0):
    return _softmax_np(np.asarray(z))


def _softmax_no_max_shift(z, tau=1.0):
    e = np.exp(np.asarray(z, dtype=np.float64) / tau)  # overflows to inf for logits of 1e3 and more: inf/inf = NaN
    return e / e.sum(axis=-1, keepdims=True)


def _sdpa_mask_after_softmax(Q, K, V, mask=None):
    W = _softmax_np(Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1]))
    if mask is not None:
        W = np.where(mask, W, 0.0)  # the kept weights no longer sum to one
    return W @ V, W


def _softmax_axis_0(z, tau=1.0):
    """The softmax over axis 0 (down the rows: across contexts) instead of the last axis."""
    z = np.asarray(z, dtype=np.float64) / tau
    return np.moveaxis(_softmax_np(np.moveaxis(z, 0, -1)), -1, 0)


def _additive_no_tanh(h_enc, s, W1, W2, v):
    return (np.asarray(h_enc) @ np.asarray(W1).T + np.asarray(W2) @ np.asarray(s)) @ np.asarray(v)


def _scores_without_transpose(Q, K):
    return np.asarray(Q) @ np.asarray(K)


def _sdpa_minus_1e9(Q, K, V, mask=None):
    Z = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    if mask is not None:
        Z = np.where(mask, Z, -1e9)
    W = _softmax_np(Z)
    return W @ V, W


def _causal_mask_diagonal(Z):
    n, m = Z.shape[-2:]
    return np.where(np.tril(np.ones((n, m), dtype=bool), k=-1), Z, -np.inf)


def _heads(X, n_heads, interleaved=False):
    d = X.shape[-1] // n_heads
    cols = [list(range(h, X.shape[-1], n_heads)) if interleaved else list(range(h * d, (h + 1) * d))
            for h in range(n_heads)]
    return [X[..., c] for c in cols], cols


def _mha(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask=None, interleaved=False, project=True):
    from reference.numpy.attention import scaled_dot_product_attention

    qs, cols = _heads(X_q @ W_q, n_heads, interleaved)
    ks, _ = _heads(X_kv @ W_k, n_heads, interleaved)
    vs, _ = _heads(X_kv @ W_v, n_heads, interleaved)
    outs, ws = zip(*(scaled_dot_product_attention(q, k, v, mask) for q, k, v in zip(qs, ks, vs)))
    concat = np.zeros(X_q.shape[:-1] + (W_v.shape[-1],))
    for c, o in zip(cols, outs):
        concat[..., c] = o
    return (concat @ W_o if project else concat), np.stack(ws, axis=-3)


def _mha_no_output_projection(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask=None):
    return _mha(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask, project=False)


def _mha_interleaved_heads(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask=None):
    return _mha(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask, interleaved=True)


_MHA_PIN = {"X_q": np.array([[1.0, 0.5, -1.0, 2.0], [0.0, 1.0, 1.5, -0.5]]),
            "X_kv": np.array([[0.5, -1.0, 1.0, 0.0], [1.0, 1.0, -0.5, 0.5], [-1.0, 0.5, 0.0, 1.0]]),
            "W_q": np.array([[1.0, 0.0, 0.5, 0.0], [0.0, 1.0, 0.0, -0.5], [0.5, 0.0, 1.0, 0.0], [0.0, 0.5, 0.0, 1.0]]),
            "W_k": np.array([[0.5, 1.0, 0.0, 0.0], [0.0, 0.5, 1.0, 0.0], [0.0, 0.0, 0.5, 1.0], [1.0, 0.0, 0.0, 0.5]]),
            "W_v": np.array([[1.0, -1.0, 0.0, 0.5], [0.5, 1.0, -0.5, 0.0], [0.0, 0.5, 1.0, -1.0], [1.0, 0.0, 0.5, 1.0]]),
            "W_o": np.array([[0.5, 0.0, 1.0, 0.0], [0.0, 1.5, 0.0, 0.5], [1.0, 0.0, -0.5, 0.0], [0.0, 0.5, 0.0, 2.0]]),
            "n_heads": 2}


def _causal_mask_upper(Z):
    n, m = Z.shape[-2:]
    return np.where(np.triu(np.ones((n, m), dtype=bool)), Z, -np.inf)


def _causal_mask_zero(Z):
    n, m = Z.shape[-2:]
    return np.where(np.tril(np.ones((n, m), dtype=bool)), Z, 0.0)


# -- entries ------------------------------------------------------------------------------------------

EQUATIONS = (
    Equation(
        "attention.additive_score",
        inputs=_additive_inputs,
        pinned=(
            Pinned("saturated tanh (|W1 h| = 1e3)", {"h_enc": np.array([[1e3], [-1e3]]), "s": np.array([0.5]),
                                                     "W1": np.array([[1.0]]), "W2": np.array([[2.0]]),
                                                     "v": np.array([3.0])}),
            Pinned("tiny magnitudes (1e-150)", {"h_enc": np.array([[1e-150, 2e-150]]), "s": np.array([1e-150]),
                                                "W1": np.array([[1.0, 1.0]]), "W2": np.array([[1.0]]),
                                                "v": np.array([1.0])}),
        ),
        mistakes=(Mistake("no tanh", "v^T (W1 h_j + W2 s) without the tanh (the score is then linear in h_j)",
                          _additive_no_tanh),),
        kappa=tol.kappa_additive,
        grad=("h_enc", "s", "W1"),
        grad_at={"h_enc": [[0.5, -1.0], [0.25, 0.75]], "s": [1.0], "W1": [[1.0, 0.5]], "W2": [[-0.5]], "v": [2.0]},
    ),
    Equation(
        "attention.dot_product_score",
        inputs=_qk_inputs,
        batch_args=("Q", "K"),
        kappa=lambda Q, K: tol.kappa_matmul(Q, np.swapaxes(np.asarray(K), -1, -2)),
        mistakes=(Mistake("no transpose", "Q K instead of Q K^T (keys must be transposed: e_ij = q_i . k_j)",
                          _scores_without_transpose),),
        pinned=(Pinned("the page's Q = 2I and K", {"Q": PAGE_Q, "K": PAGE_K}),
                Pinned("large magnitudes (1e18, within float32)", {"Q": np.array([[1e18, -1e18]]), "K": np.array([[1e18, 3e18]])})),
    ),
    Equation(
        "attention.scaled_dot_product",
        inputs=_masked_qkv_inputs,
        batch_args=("Q", "K", "V"),
        kappa=lambda Q, K, V, mask=None: tol.kappa_scaled_dot_product(Q, K, V),
        pinned=(
            Pinned("the page's four tokens (Q = 2I, K, V = I)", {"Q": PAGE_Q, "K": PAGE_K, "V": PAGE_V}),
            Pinned("scores of +-1e4 (no overflow)", {"Q": np.array([[100.0, 0.0]]), "K": np.array([[141.0, 0.0], [-141.0, 0.0]]),
                                                     "V": np.array([[1.0], [2.0]])}),
            Pinned("tied scores (uniform weights)", {"Q": np.array([[1.0, 1.0]]), "K": np.array([[1.0, 0.0], [0.0, 1.0]]),
                                                     "V": np.array([[4.0], [-2.0]])}),
            Pinned("a NaN query gives NaN output and weights, unlike a masked row",
                   {"Q": np.array([[np.nan], [1.0]]), "K": np.array([[1.0], [0.5]]), "V": np.array([[1.0], [3.0]])}),
            Pinned("a fully masked query row (zero weights and output)",
                   {"Q": np.array([[1.0], [2.0]]), "K": np.array([[1.0], [0.5]]), "V": np.array([[1.0], [3.0]]),
                    "mask": np.array([[True, False], [False, False]])}),
        ),
        errors=(
            ErrorInput("d_k of Q and K differ", {"Q": np.ones((2, 3)), "K": np.ones((2, 2)), "V": np.ones((2, 1))},
                       ValueError, r"Q has d_k = 3 but K has 2"),
            ErrorInput("K and V lengths differ", {"Q": np.ones((2, 2)), "K": np.ones((3, 2)), "V": np.ones((2, 1))},
                       ValueError, r"K has 3 positions but V has 2"),
            ErrorInput("a mask of the wrong shape", {"Q": np.ones((2, 2)), "K": np.ones((3, 2)), "V": np.ones((3, 1)),
                                                     "mask": np.ones((2, 2), dtype=bool)},
                       ValueError, r"mask of shape \(2, 2\) does not broadcast to the scores' shape \(2, 3\)"),
        ),
        mistakes=(
            Mistake("unscaled scores", "softmax(Q K^T) V without dividing by sqrt(d_k)", _sdpa_unscaled),
            Mistake("divided by d_k", "dividing the scores by d_k instead of sqrt(d_k)", _sdpa_divided_by_dk),
            Mistake("mask after softmax", "zeroing the masked weights AFTER the softmax (the kept weights of a row "
                    "no longer sum to one; mask the scores with -inf before it)", _sdpa_mask_after_softmax),
            Mistake("softmax over queries", "a softmax over the query axis (columns) instead of over the keys (rows)",
                    _sdpa_softmax_over_queries),
            Mistake("-1e9 instead of -inf", "masking with -1e9 instead of -inf: the same weights wherever a key is "
                    "kept, but a fully masked row gets uniform weights instead of zeros (a convention: the suite, like "
                    "PyTorch's SDPA, gives zeros)", _sdpa_minus_1e9),
        ),
        grad=("Q", "K", "V"),
        grad_at={"Q": [[1.0, 0.5], [0.0, -1.0]], "K": [[0.5, 0.5], [1.0, -0.5]], "V": [[1.0], [2.0]]},
    ),
    Equation(
        "attention.dot_product_variance",
        inputs=_moment_inputs,
        pinned=(Pinned("zero means, unit variances, d_k = 512", {"mean_q": np.zeros(512), "var_q": np.ones(512),
                                                                   "mean_k": np.zeros(512), "var_k": np.ones(512)}),),
    ),
    Equation(
        "attention.softmax_temperature",
        inputs=_softmax_inputs,
        batch_args=("z",),
        kappa=tol.kappa_softmax,
        pinned=(
            Pinned("logits of +-1e4 (no overflow)", {"z": np.array([[1e4, -1e4, 0.0], [1e4, 1e4 - 1, 1e4]]), "tau": 1.0}),
            Pinned("ties", {"z": np.array([[2.0, 2.0, 2.0, 2.0]]), "tau": 0.5}),
            Pinned("tiny logits (1e-300)", {"z": np.array([[1e-300, -1e-300]]), "tau": 1.0}),
            Pinned("the page's row 0 of Z = [1, 1, 0, 0]", {"z": np.array([[1.0, 1.0, 0.0, 0.0]]), "tau": 1.0}),
            Pinned("a low temperature", {"z": np.array([[1.0, 2.0, 3.0]]), "tau": 0.25}),
            Pinned("-inf entries get weight 0", {"z": np.array([[0.0, -np.inf, 1.0]]), "tau": 2.0}),
            Pinned("a NaN logit gives a NaN row (not the zeros of a masked row)",
                   {"z": np.array([[np.nan, 1.0], [0.0, 1.0]]), "tau": 1.0}),
            Pinned("an all -inf row (fully masked) gives zeros", {"z": np.array([[-np.inf, -np.inf]]), "tau": 1.0}),
        ),
        errors=(ErrorInput("tau = 0", {"z": np.zeros((1, 3)), "tau": 0.0}, ValueError, "tau must be > 0"),
                ErrorInput("tau < 0", {"z": np.zeros((1, 3)), "tau": -1.0}, ValueError, "tau must be > 0")),
        mistakes=(Mistake("z * tau", "multiplying the logits by tau instead of dividing", _softmax_times_tau),
                  Mistake("no max-shift", "exp(z / tau) without subtracting the row maximum first (overflow: "
                          "inf / inf = NaN for logits of about 710 and more)", _softmax_no_max_shift),
                  Mistake("temperature ignored", "ignoring the temperature tau", _softmax_no_temperature),
                  Mistake("softmax over the wrong axis", "a softmax over axis 0 (down the rows) instead of over the last "
                          "axis (each row of logits is one distribution)", _softmax_axis_0)),
        grad=("z",),
        grad_at={"z": [[0.5, -1.25, 2.0]], "tau": 2.0},
    ),
    Equation("attention.softmax_temperature_limits", inputs=_limit_inputs),
    Equation(
        "attention.causal_mask",
        inputs=_scores_inputs,
        batch_args=("Z",),
        kappa=lambda Z: 2.0 * float(np.max(np.abs(np.where(np.isfinite(Z), Z, 0.0)), initial=0.0)),
        pinned=(Pinned("the page's Z (4 x 4)", {"Z": PAGE_Q @ PAGE_K.T / 2.0}),),
        mistakes=(Mistake("upper triangle kept", "keeping j >= i (the upper triangle) instead of j <= i", _causal_mask_upper),
                  Mistake("diagonal masked", "masking j >= i instead of j > i: a token may attend to itself",
                          _causal_mask_diagonal),
                  Mistake("masked with 0", "masking the future with 0 instead of -inf (0 still gets weight)",
                          _causal_mask_zero)),
    ),
    Equation("attention.causal_mask_matrix", inputs=_causal_mask_inputs),
    Equation(
        "attention.multi_head",
        inputs=_multi_head_inputs,
        pinned=(Pinned("two heads, d_model = 4", _MHA_PIN),),
        mistakes=(Mistake("no output projection", "concat(heads) without the output projection W_O",
                          _mha_no_output_projection),
                  Mistake("heads interleaved", "splitting the heads by interleaved columns (h, h + n_heads, ...) "
                          "instead of contiguous blocks h*d:(h+1)*d", _mha_interleaved_heads)),
        kappa=lambda X_q, X_kv, W_q, W_k, W_v, W_o, n_heads, mask=None: _kappa_multi_head(X_q, X_kv, W_q, W_k, W_v, W_o, n_heads),
        errors=(ErrorInput("d_model not divisible by n_heads",
                           {"X_q": np.ones((1, 3)), "X_kv": np.ones((1, 3)), "W_q": np.eye(3), "W_k": np.eye(3),
                            "W_v": np.eye(3), "W_o": np.eye(3), "n_heads": 2}, ValueError, "not divisible by n_heads"),
                ErrorInput("n_heads = 0", {"X_q": np.ones((1, 2)), "X_kv": np.ones((1, 2)), "W_q": np.eye(2),
                                           "W_k": np.eye(2), "W_v": np.eye(2), "W_o": np.eye(2), "n_heads": 0},
                           ValueError, "n_heads must be a positive integer, got 0")),
    ),
    Equation("attention.macs", inputs=_macs_inputs),
    Equation(
        "attention.flash_tiled",
        inputs=_flash_inputs,
        kappa=lambda Q, K, V, block_size=2, causal=False: tol.kappa_scaled_dot_product(Q, K, V) * 2,
        errors=(ErrorInput("block_size = 0", {"Q": np.ones((2, 1)), "K": np.ones((2, 1)), "V": np.ones((2, 1)),
                                              "block_size": 0}, ValueError, "block_size must be >= 1"),),
    ),
    Equation("attention.linear_kernel", inputs=_linear_inputs,
             kappa=lambda Q, K, V, causal=True: _kappa_linear(Q, K, V)),
    Equation("attention.linear_kernel_recurrent", inputs=_linear_recurrent_inputs,
             kappa=lambda Q, K, V: _kappa_linear(Q, K, V)),
)
