"""Attention (attention_math.md): every equation in its three forms, its laws, and its oracles.

Layers, each beside the others for the same equation:
  * agreement: each backend against its oracle (SymPy exact -> NumPy -> PyTorch / --impl);
  * laws and invariances (hypothesis);
  * oracles: torch.nn.functional.scaled_dot_product_attention, torch.nn.MultiheadAttention,
    torch's FlopCounterMode, sympy.stats.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from lmverify import strategies as S
from lmverify.backends import Backend
from lmverify.compare import agree, assert_close, assert_true
from lmverify.convert import to_sympy, to_torch
from lmverify.tolerance import tolerance_for

T = "attention"

# ---------------------------------------------------------------- softmax with temperature


@pytest.mark.equation("attention.softmax_temperature")
@given(data=st.data())
def test_softmax_matches_oracle(backend, oracle, equation, data):
    z = data.draw(S.logits(max_rows=3, max_len=4, exact=backend.exact or oracle.exact), label="z")
    tau = data.draw(S.temperatures(exact=True), label="tau")
    agree(backend, oracle, T, "softmax", z, tau=tau, equation=equation, inputs={"z": z, "tau": tau})


@pytest.mark.equation("attention.softmax_temperature")
@given(z=S.logits(extremes=True), tau=S.temperatures())
def test_softmax_rows_are_probability_vectors(numeric_backend, equation, z, tau):
    w = numeric_backend.call(T, "softmax", z, tau=tau)
    tol = numeric_backend.tolerance(equation)
    inputs = {"z": z, "tau": tau}
    assert_true(bool(np.all(np.isfinite(w))), equation=equation, backend=numeric_backend.label,
                law="softmax is finite even for logits of +-1e4 (subtract the row max)", inputs=inputs, got=w)
    assert_true(bool(np.all(w >= 0) and np.all(w <= 1 + tol.atol)), equation=equation,
                backend=numeric_backend.label, law="0 <= softmax <= 1", inputs=inputs, got=w)
    assert_close(w.sum(axis=-1), np.ones(z.shape[0]), tol, equation=equation, backend=numeric_backend.label,
                 inputs=inputs, what="row sums of softmax", expected_from="rows sum to one")


@pytest.mark.equation("attention.softmax_temperature")
@given(z=S.logits(), c=S.small_floats, tau=S.temperatures())
def test_softmax_shift_invariant(numeric_backend, equation, z, c, tau):
    a = numeric_backend.call(T, "softmax", z, tau=tau)
    b = numeric_backend.call(T, "softmax", z + c, tau=tau)
    assert_close(b, a, numeric_backend.tolerance(equation), equation=equation, backend=numeric_backend.label,
                 inputs={"z": z, "c": c, "tau": tau}, what="softmax(z + c)", expected_from="softmax(z)")


@pytest.mark.equation("attention.softmax_temperature")
@given(z=S.logits(), tau=S.temperatures())
def test_softmax_temperature_is_rescaled_logits(numeric_backend, equation, z, tau):
    a = numeric_backend.call(T, "softmax", z, tau=tau)
    b = numeric_backend.call(T, "softmax", z / tau, tau=1.0)
    assert_close(a, b, numeric_backend.tolerance(equation), equation=equation, backend=numeric_backend.label,
                 inputs={"z": z, "tau": tau}, what="softmax(z; tau)", expected_from="softmax(z / tau; 1)")


@pytest.mark.equation("attention.softmax_temperature")
@pytest.mark.parametrize("name", ["sympy", "numpy", "torch64"])
def test_softmax_rejects_non_positive_temperature(name):
    with pytest.raises(ValueError, match="tau must be > 0"):
        Backend(name).call(T, "softmax", np.zeros((1, 3)), tau=0.0)


@pytest.mark.equation("attention.softmax_temperature")
@given(z=S.logits(max_len=5))
def test_softmax_matches_torch_softmax(numeric_backend, equation, z):
    expected = torch.softmax(torch.tensor(z), dim=-1).numpy()
    assert_close(numeric_backend.call(T, "softmax", z), expected, numeric_backend.tolerance(equation),
                 equation=equation, backend=numeric_backend.label, inputs={"z": z},
                 expected_from="torch.softmax (float64)")


@pytest.mark.equation("attention.softmax_temperature")
def test_softmax_jacobian_autograd_matches_symbolic_derivative(equation):
    """d softmax_i / d z_j = s_i (delta_ij - s_j): autograd of the torch form against SymPy's diff."""
    z_sym = sp.symbols("z0:3")
    s = [sp.exp(zi) / sum(sp.exp(zj) for zj in z_sym) for zi in z_sym]
    z_val = np.array([0.5, -1.25, 2.0])
    subs = dict(zip(z_sym, map(sp.Rational, z_val)))
    exact = np.array([[float(sp.N(sp.diff(s[i], z_sym[j]).subs(subs), 30)) for j in range(3)] for i in range(3)])
    from reference.torch import attention as ta

    jac = torch.autograd.functional.jacobian(lambda z: ta.softmax(z), torch.tensor(z_val))
    assert_close(jac.numpy(), exact, tolerance_for("float64", equation), equation=equation, backend="torch64",
                 inputs={"z": z_val}, what="Jacobian of softmax", expected_from="SymPy diff (exact)")


# ---------------------------------------------------------------- temperature limits


@pytest.mark.symbolic
@pytest.mark.equation("attention.softmax_temperature_limits")
@settings(max_examples=10)
@given(z=S.logits(max_rows=1, max_len=3, exact=True), limit=st.sampled_from([0, "oo"]))
def test_softmax_temperature_limits_match_sympy_limit(backend, equation, z, limit):
    """tau -> 0+ : one-hot on the argmax (ties share); tau -> oo : uniform. SymPy takes the limit."""
    tau_limit = sp.oo if limit == "oo" else 0
    exact = Backend("sympy").call(T, "softmax_temperature_limit", z, tau_limit=tau_limit)
    got = backend.call(T, "softmax_temperature_limit", z, tau_limit=np.inf if limit == "oo" else 0)
    assert_close(got, exact, backend.tolerance(equation), equation=equation, backend=backend.label,
                 inputs={"z": z, "tau_limit": limit}, expected_from="sympy.limit")


@pytest.mark.equation("attention.softmax_temperature_limits")
@given(z=S.logits(max_len=5, exact=True))
def test_softmax_temperature_approaches_its_limits(numeric_backend, equation, z):
    """Numerically: tau = 1e-4 * gap is within 1e-6 of one-hot, tau = 1e6 * spread is near-uniform."""
    rows = [r for r in z if np.unique(r).size == r.size]  # distinct logits (multiples of 1/8): gap >= 1/8
    for r in rows:
        srt = np.sort(r)
        gap = srt[-1] - srt[-2] if r.size > 1 else 1.0
        sharp = numeric_backend.call(T, "softmax", r[None, :], tau=gap / 50.0)[0]
        onehot = numeric_backend.call(T, "softmax_temperature_limit", r[None, :], tau_limit=0)[0]
        assert_true(np.max(np.abs(sharp - onehot)) < 1e-20 + (r.size - 1) * math.exp(-50) * 2,
                    equation=equation, backend=numeric_backend.label, law="softmax(z; tau) -> one-hot as tau -> 0+",
                    inputs={"z": r, "tau": gap / 50}, got=sharp, expected=onehot)
        spread = srt[-1] - srt[0] + 1.0
        flat = numeric_backend.call(T, "softmax", r[None, :], tau=spread * 1e6)[0]
        assert_true(np.max(np.abs(flat - 1.0 / r.size)) < 1e-5, equation=equation, backend=numeric_backend.label,
                    law="softmax(z; tau) -> uniform as tau -> oo", inputs={"z": r}, got=flat)


# ---------------------------------------------------------------- scores


@pytest.mark.equation("attention.additive_score")
@given(data=st.data())
def test_additive_score_matches_oracle(backend, oracle, equation, data):
    exact = backend.exact or oracle.exact
    T_enc, d_h, d_s, d_a = (data.draw(S.dims(3), label=n) for n in ("T_enc", "d_h", "d_s", "d_a"))
    args = {
        "h_enc": data.draw(S.arrays((T_enc, d_h), exact=exact), label="h_enc"),
        "s": data.draw(S.arrays((d_s,), exact=exact), label="s"),
        "W1": data.draw(S.arrays((d_a, d_h), exact=exact), label="W1"),
        "W2": data.draw(S.arrays((d_a, d_s), exact=exact), label="W2"),
        "v": data.draw(S.arrays((d_a,), exact=exact), label="v"),
    }
    agree(backend, oracle, T, "additive_score", *args.values(), equation=equation, inputs=args)


@pytest.mark.equation("attention.additive_score")
@given(data=st.data())
def test_additive_score_bounded_by_v_l1_and_equals_loop(numeric_backend, equation, data):
    T_enc, d_h, d_s, d_a = (data.draw(S.dims(4)) for _ in range(4))
    h, s, W1, W2, v = (data.draw(S.arrays(shape)) for shape in
                       ((T_enc, d_h), (d_s,), (d_a, d_h), (d_a, d_s), (d_a,)))
    e = numeric_backend.call(T, "additive_score", h, s, W1, W2, v)
    loop = np.array([v @ np.tanh(W1 @ h[j] + W2 @ s) for j in range(T_enc)])
    inputs = {"h_enc": h, "s": s, "W1": W1, "W2": W2, "v": v}
    assert_close(e, loop, numeric_backend.tolerance(equation), equation=equation, backend=numeric_backend.label,
                 inputs=inputs, expected_from="an explicit loop over encoder positions")
    assert_true(bool(np.all(np.abs(e) <= np.abs(v).sum() * (1 + 1e-6))), equation=equation,
                backend=numeric_backend.label, law="|e_j| <= ||v||_1 since |tanh| < 1", inputs=inputs, got=e)


@pytest.mark.equation("attention.dot_product_score")
@given(qkv=S.qkv_triples(max_len=3, max_dim=3, exact=True))
def test_dot_product_scores_matches_oracle(backend, oracle, equation, qkv):
    agree(backend, oracle, T, "dot_product_scores", qkv["Q"], qkv["K"], equation=equation,
          inputs={"Q": qkv["Q"], "K": qkv["K"]})


@pytest.mark.equation("attention.dot_product_score")
@given(qkv=S.qkv_triples(batch=True))
def test_dot_product_scores_every_cell_is_a_dot_product(numeric_backend, equation, qkv):
    Q, K = qkv["Q"], qkv["K"]
    got = numeric_backend.call(T, "dot_product_scores", Q, K)
    cells = np.einsum("...id,...jd->...ij", Q, K)
    assert_close(got, cells, numeric_backend.tolerance(equation), equation=equation, backend=numeric_backend.label,
                 inputs={"Q": Q, "K": K}, expected_from="q_i . k_j for every (i, j)")


# ---------------------------------------------------------------- scaled dot-product attention


@pytest.mark.equation("attention.scaled_dot_product")
@given(qkv=S.qkv_triples(max_len=3, max_dim=3, exact=True))
def test_scaled_dot_product_attention_matches_oracle(backend, oracle, equation, qkv):
    """softmax(Q K^T / sqrt(d_k)) V against the exact (SymPy) or float64 (NumPy) value."""
    agree(backend, oracle, T, "scaled_dot_product_attention", qkv["Q"], qkv["K"], qkv["V"],
          equation=equation, inputs=qkv)


@pytest.mark.equation("attention.scaled_dot_product")
@given(qkv=S.qkv_triples(batch=True))
def test_scaled_dot_product_attention_batched_matches_reference(numeric_backend, reference, equation, qkv):
    agree(numeric_backend, reference, T, "scaled_dot_product_attention", qkv["Q"], qkv["K"], qkv["V"],
          equation=equation, inputs=qkv)


@pytest.mark.equation("attention.scaled_dot_product")
@given(qkv=S.qkv_triples(batch=True))
def test_scaled_dot_product_attention_shapes_and_convex_rows(numeric_backend, equation, qkv):
    Q, K, V = qkv["Q"], qkv["K"], qkv["V"]
    out, w = numeric_backend.call(T, "scaled_dot_product_attention", Q, K, V)
    n, m, d_v = Q.shape[-2], K.shape[-2], V.shape[-1]
    b = numeric_backend.label
    assert_true(out.shape == Q.shape[:-2] + (n, d_v), equation=equation, backend=b, inputs=qkv,
                law=f"output has shape (..., n, d_v) = {Q.shape[:-2] + (n, d_v)}", got=out.shape)
    assert_true(w.shape == Q.shape[:-2] + (n, m), equation=equation, backend=b, inputs=qkv,
                law=f"weights have shape (..., n, m) = {Q.shape[:-2] + (n, m)}", got=w.shape)
    tol = numeric_backend.tolerance(equation)
    assert_close(w.sum(-1), np.ones(w.shape[:-1]), tol, equation=equation, backend=b, inputs=qkv,
                 what="row sums of the weights", expected_from="each query row sums to one")
    lo, hi = V.min(axis=-2, keepdims=True), V.max(axis=-2, keepdims=True)
    slack = tol.atol + tol.rtol * np.abs(V).max()
    assert_true(bool(np.all(out >= lo - slack) and np.all(out <= hi + slack)), equation=equation, backend=b,
                inputs=qkv, law="each output row is a convex combination of V's rows", got=out)


@pytest.mark.oracle
@pytest.mark.equation("attention.scaled_dot_product")
@given(qkv=S.qkv_triples(batch=True), data=st.data())
def test_scaled_dot_product_attention_matches_torch_sdpa(numeric_backend, equation, qkv, data):
    """torch.nn.functional.scaled_dot_product_attention, with and without a boolean mask."""
    Q, K, V = qkv["Q"], qkv["K"], qkv["V"]
    mask = data.draw(st.none() | S.masks(Q.shape[-2], K.shape[-2]), label="mask")
    args = (Q, K, V) if mask is None else (Q, K, V, mask)
    out, _ = numeric_backend.call(T, "scaled_dot_product_attention", *args)
    expected = F.scaled_dot_product_attention(
        torch.tensor(Q), torch.tensor(K), torch.tensor(V),
        attn_mask=None if mask is None else torch.tensor(mask)).numpy()
    assert_close(out, expected, numeric_backend.tolerance(equation), equation=equation,
                 backend=numeric_backend.label, inputs=dict(qkv, mask=mask),
                 expected_from="torch.nn.functional.scaled_dot_product_attention (float64)")


# ---------------------------------------------------------------- causal mask


@pytest.mark.equation("attention.causal_mask")
@given(z=S.logits(max_rows=4, max_len=4, exact=True))
def test_causal_masked_scores_matches_oracle(backend, oracle, equation, z):
    agree(backend, oracle, T, "causal_masked_scores", z, equation=equation, inputs={"Z": z})


@pytest.mark.equation("attention.causal_mask_matrix")
@pytest.mark.parametrize("T_len", [1, 2, 5])
def test_causal_mask_matrix_is_lower_triangular(backend, equation, T_len):
    got = backend.call(T, "causal_mask", T_len)
    expected = np.tril(np.ones((T_len, T_len)))
    assert_close(np.asarray(got, dtype=np.float64), expected, tolerance_for("exact"), equation=equation,
                 backend=backend.label, inputs={"T": T_len}, expected_from="[j <= i]")


@pytest.mark.oracle
@pytest.mark.equation("attention.causal_mask_matrix")
@given(qkv=S.qkv_triples(self_attention=True, batch=True))
def test_causal_mask_matrix_equals_torch_is_causal(numeric_backend, equation, qkv):
    Q, K, V = qkv["Q"], qkv["K"], qkv["V"]
    mask = np.asarray(numeric_backend.call(T, "causal_mask", Q.shape[-2]), dtype=bool)
    out, _ = numeric_backend.call(T, "scaled_dot_product_attention", Q, K, V, mask)
    expected = F.scaled_dot_product_attention(torch.tensor(Q), torch.tensor(K), torch.tensor(V), is_causal=True)
    assert_close(out, expected.numpy(), numeric_backend.tolerance("attention.scaled_dot_product"),
                 equation=equation, backend=numeric_backend.label, inputs=qkv,
                 expected_from="F.scaled_dot_product_attention(..., is_causal=True)")


@pytest.mark.equation("attention.causal_mask")
@given(qkv=S.qkv_triples(self_attention=True, max_len=4, max_dim=3, exact=True))
def test_causal_mask_masked_weights_are_exactly_zero(backend, equation, qkv):
    Q, K, V = qkv["Q"], qkv["K"], qkv["V"]
    n = Q.shape[-2]
    _, w = backend.call(T, "scaled_dot_product_attention", Q, K, V, np.tril(np.ones((n, n), dtype=bool)))
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    assert_true(bool(np.all(w[upper] == 0.0)), equation=equation, backend=backend.label, inputs=qkv,
                law="weights above the diagonal are exactly 0 (a -inf score, not a large negative one)", got=w)


@pytest.mark.equation("attention.causal_mask")
@given(qkv=S.qkv_triples(self_attention=True, max_len=5), data=st.data())
def test_causal_mask_output_independent_of_future(numeric_backend, equation, qkv, data):
    """Changing keys/values after position i leaves output rows 0..i unchanged."""
    Q, K, V = qkv["Q"], qkv["K"], qkv["V"]
    n = Q.shape[-2]
    i = data.draw(st.integers(0, n - 1), label="i")
    K2, V2 = K.copy(), V.copy()
    K2[i + 1:] = data.draw(S.arrays(K[i + 1:].shape), label="new future keys")
    V2[i + 1:] = data.draw(S.arrays(V[i + 1:].shape), label="new future values")
    mask = np.tril(np.ones((n, n), dtype=bool))
    out1, _ = numeric_backend.call(T, "scaled_dot_product_attention", Q, K, V, mask)
    out2, _ = numeric_backend.call(T, "scaled_dot_product_attention", Q, K2, V2, mask)
    assert_close(out2[: i + 1], out1[: i + 1], tolerance_for("exact"), equation=equation,
                 backend=numeric_backend.label, inputs=dict(qkv, i=i, K_future=K2, V_future=V2),
                 what=f"output rows 0..{i} after changing the future", expected_from="the same rows before")


@pytest.mark.equation("attention.causal_mask")
@given(qkv=S.qkv_triples(self_attention=True, max_len=5))
def test_causal_mask_row_equals_attention_over_its_prefix(numeric_backend, reference, equation, qkv):
    """Row i of causal attention is plain attention of q_i over k_0..k_i: the mask goes *before* softmax.

    Zeroing the future weights *after* the softmax leaves rows that do not sum to one, and fails here.
    """
    Q, K, V = qkv["Q"], qkv["K"], qkv["V"]
    n = Q.shape[-2]
    out, w = numeric_backend.call(T, "scaled_dot_product_attention", Q, K, V, np.tril(np.ones((n, n), dtype=bool)))
    for i in range(n):
        o_i, w_i = reference.call(T, "scaled_dot_product_attention", Q[i:i + 1], K[: i + 1], V[: i + 1])
        expected_w = np.concatenate([w_i[0], np.zeros(n - i - 1)])
        tol = numeric_backend.tolerance("attention.scaled_dot_product")
        assert_close(w[i], expected_w, tol, equation=equation, backend=numeric_backend.label, inputs=qkv,
                     what=f"causal weights of row {i}", expected_from=f"softmax over keys 0..{i} only")
        assert_close(out[i], o_i[0], tol, equation=equation, backend=numeric_backend.label, inputs=qkv,
                     what=f"causal output row {i}", expected_from=f"attention over positions 0..{i} only")


@pytest.mark.equation("attention.causal_mask")
@given(qkv=S.qkv_triples(max_len=4, max_dim=3, exact=True), data=st.data())
def test_causal_mask_fully_masked_row_gives_zero_weights_and_output(backend, equation, qkv, data):
    """Documented convention: a query that may attend to nothing gets zero weights and a zero output."""
    Q, K, V = qkv["Q"], qkv["K"], qkv["V"]
    mask = data.draw(S.masks_with_a_fully_masked_row(Q.shape[-2], K.shape[-2]), label="mask")
    out, w = backend.call(T, "scaled_dot_product_attention", Q, K, V, mask)
    dead = ~mask.any(axis=-1)
    assert_true(bool(np.all(w[dead] == 0) and np.all(out[dead] == 0)), equation=equation, backend=backend.label,
                inputs=dict(qkv, mask=mask), got=(w, out),
                law="fully masked rows have all-zero weights and output (no NaN), like PyTorch's SDPA")
    assert_true(bool(np.all(np.isfinite(w)) and np.all(np.isfinite(out))), equation=equation,
                backend=backend.label, inputs=dict(qkv, mask=mask), law="no NaN anywhere", got=(w, out))


@pytest.mark.oracle
@pytest.mark.equation("attention.causal_mask")
def test_causal_mask_fully_masked_row_convention_matches_torch_and_not_naive_softmax():
    """PyTorch's SDPA returns 0 for a fully masked row; a naive softmax over all -inf returns NaN."""
    Q = torch.tensor([[1.0, 0.5], [0.0, 2.0]], dtype=torch.float64)
    mask = torch.tensor([[False, False], [True, True]])
    out = F.scaled_dot_product_attention(Q, Q, Q, attn_mask=mask)
    assert torch.equal(out[0], torch.zeros(2, dtype=torch.float64))
    naive = torch.softmax(torch.full((2,), float("-inf")), dim=-1)
    assert torch.isnan(naive).all()


# ---------------------------------------------------------------- multi-head


@pytest.mark.equation("attention.multi_head")
@settings(max_examples=8)
@given(setup=S.multi_head_setups(max_len=2, max_heads=2, max_head_dim=2, exact=True))
def test_multi_head_attention_matches_oracle(backend, oracle, equation, setup):
    args = [setup[k] for k in ("X_q", "X_kv", "W_q", "W_k", "W_v", "W_o")]
    agree(backend, oracle, T, "multi_head_attention", *args, setup["n_heads"], equation=equation, inputs=setup)


@pytest.mark.equation("attention.multi_head")
@given(setup=S.multi_head_setups())
def test_multi_head_attention_equals_loop_over_heads(numeric_backend, reference, equation, setup):
    X_q, X_kv, W_q, W_k, W_v, W_o, h = (setup[k] for k in ("X_q", "X_kv", "W_q", "W_k", "W_v", "W_o", "n_heads"))
    out, w = numeric_backend.call(T, "multi_head_attention", X_q, X_kv, W_q, W_k, W_v, W_o, h)
    d = X_q.shape[-1] // h
    heads, weights = [], []
    for i in range(h):
        cols = slice(i * d, (i + 1) * d)
        o_i, w_i = reference.call(T, "scaled_dot_product_attention", X_q @ W_q[:, cols], X_kv @ W_k[:, cols],
                                  X_kv @ W_v[:, cols])
        heads.append(o_i)
        weights.append(w_i)
    tol = numeric_backend.tolerance(equation)
    assert_close(out, np.concatenate(heads, axis=-1) @ W_o, tol, equation=equation, backend=numeric_backend.label,
                 inputs=setup, expected_from="concat over a loop of single-head attentions, times W_O")
    assert_close(w, np.stack(weights), tol, equation=equation, backend=numeric_backend.label, inputs=setup,
                 what="per-head weights", expected_from="each head's own softmax")


@pytest.mark.oracle
@pytest.mark.equation("attention.multi_head")
@given(setup=S.multi_head_setups(max_len=5, max_heads=4, max_head_dim=4), causal=st.booleans())
def test_multi_head_attention_matches_torch_nn_multihead(numeric_backend, equation, setup, causal):
    """nn.MultiheadAttention computes x W^T with in_proj_weight = [W_q^T; W_k^T; W_v^T], out_proj.weight = W_o^T."""
    X_q, X_kv, W_q, W_k, W_v, W_o, h = (setup[k] for k in ("X_q", "X_kv", "W_q", "W_k", "W_v", "W_o", "n_heads"))
    n, m = X_q.shape[0], X_kv.shape[0]
    d_model = X_q.shape[1]
    mha = torch.nn.MultiheadAttention(d_model, h, bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.tensor(np.concatenate([W_q.T, W_k.T, W_v.T])))
        mha.out_proj.weight.copy_(torch.tensor(W_o.T))
    keep = np.tril(np.ones((n, m), dtype=bool)) if causal else None
    expected, exp_w = mha(torch.tensor(X_q)[None], torch.tensor(X_kv)[None], torch.tensor(X_kv)[None],
                          attn_mask=None if keep is None else torch.tensor(~keep),  # torch: True = masked out
                          need_weights=True, average_attn_weights=False)
    args = (X_q, X_kv, W_q, W_k, W_v, W_o, h) + (() if keep is None else (keep,))
    out, w = numeric_backend.call(T, "multi_head_attention", *args)
    tol = numeric_backend.tolerance(equation)
    inputs = dict(setup, causal=causal)
    assert_close(out, expected[0].detach().numpy(), tol, equation=equation, backend=numeric_backend.label,
                 inputs=inputs, expected_from="torch.nn.MultiheadAttention (float64, mapped weights)")
    assert_close(w, exp_w[0].detach().numpy(), tol, equation=equation, backend=numeric_backend.label,
                 inputs=inputs, what="per-head weights", expected_from="nn.MultiheadAttention(average_attn_weights=False)")


# ---------------------------------------------------------------- why sqrt(d_k): the variance argument


@pytest.mark.symbolic
@pytest.mark.equation("attention.dot_product_variance")
@pytest.mark.parametrize("distribution", ["normal", "uniform", "rademacher"])
@pytest.mark.parametrize("d_k", [1, 2, 3])
def test_dot_product_variance_sympy_stats_proof(distribution, d_k):
    """sympy.stats: for i.i.d. zero-mean unit-variance components, E[q.k] = 0 and Var(q.k) = d_k."""
    from specs.attention import dot_product_variance_proof

    mean, var = dot_product_variance_proof(d_k, distribution)
    assert mean == 0, f"E[q.k] = {mean}, expected 0 ({distribution}, d_k={d_k})"
    assert var == d_k, f"Var(q.k) = {var}, expected d_k = {d_k} ({distribution})"


@pytest.mark.symbolic
@pytest.mark.equation("attention.dot_product_variance")
def test_dot_product_variance_symbolic_moment_algebra():
    """From the general moment formula, with symbolic d_k: zero means and unit variances give (0, d_k)."""
    from specs.attention import dot_product_moments

    mu_q, mu_k, s_q, s_k = sp.symbols("mu_q mu_k sigma2_q sigma2_k")
    mean, var = dot_product_moments([mu_q], [s_q], [mu_k], [s_k])
    assert sp.expand(var - (s_q * s_k + s_q * mu_k**2 + s_k * mu_q**2)) == 0
    d_k, i = sp.symbols("d_k i", positive=True, integer=True)
    total_var = sp.summation(var.subs({mu_q: 0, mu_k: 0, s_q: 1, s_k: 1}), (i, 1, d_k))
    total_mean = sp.summation(mean.subs({mu_q: 0, mu_k: 0}), (i, 1, d_k))
    assert (total_mean, total_var) == (0, d_k)
    # and scaling by 1/sqrt(d_k) brings the variance back to 1
    assert sp.simplify(total_var / sp.sqrt(d_k) ** 2) == 1


@pytest.mark.equation("attention.dot_product_variance")
@given(data=st.data())
def test_dot_product_moments_matches_oracle(backend, oracle, equation, data):
    d = data.draw(S.dims(4), label="d_k")
    exact = backend.exact or oracle.exact
    mq, mk = (data.draw(S.arrays((d,), exact=exact)) for _ in range(2))
    sq, sk = (np.abs(data.draw(S.arrays((d,), exact=exact))) for _ in range(2))
    agree(backend, oracle, T, "dot_product_moments", mq, sq, mk, sk, equation=equation,
          inputs={"mean_q": mq, "var_q": sq, "mean_k": mk, "var_k": sk})


@pytest.mark.equation("attention.dot_product_variance")
def test_dot_product_variance_statistical_at_dk_512(numeric_backend, equation):
    """Seeded Monte Carlo at d_k = 512 (a statistical test, stated as such): 20,000 pairs of N(0, I)
    vectors. Sample mean and variance of q.k must be within 4 standard errors of the backend's moment
    formula (0, 512); after dividing by sqrt(512) the variance is within 4 standard errors of 1."""
    d_k, n = 512, 20_000
    rng = np.random.default_rng(20261129)
    q, k = rng.standard_normal((2, n, d_k))
    dots = np.einsum("nd,nd->n", q, k)
    mean, var = numeric_backend.call(T, "dot_product_moments", np.zeros(d_k), np.ones(d_k), np.zeros(d_k),
                                     np.ones(d_k))
    # For N(0,1) components, q.k has fourth central moment 3 d_k^2 + 6 d_k, so Var(sample var) ~ (mu4 - var^2)/n
    se_mean = math.sqrt(var / n)
    se_var = math.sqrt((3 * d_k**2 + 6 * d_k - var**2) / n)
    law = "sample moments of q.k within 4 standard errors of (E, Var) = (0, d_k)"
    inputs = {"d_k": d_k, "n": n, "seed": 20261129}
    got = (float(dots.mean()), float(dots.var(ddof=1)))
    assert_true(abs(got[0] - mean) <= 4 * se_mean and abs(got[1] - var) <= 4 * se_var, equation=equation,
                backend=numeric_backend.label, law=law, inputs=inputs, got=got, expected=(float(mean), float(var)))
    scaled_var = float((dots / math.sqrt(d_k)).var(ddof=1))
    assert_true(abs(scaled_var - var / d_k) <= 4 * se_var / d_k, equation=equation, backend=numeric_backend.label,
                law="Var(q.k / sqrt(d_k)) ~ 1", inputs=inputs, got=scaled_var, expected=1.0)


# ---------------------------------------------------------------- complexity: MACs


def _counted_macs(T_len: int, d_k: int, d_v: int) -> tuple[int, int]:
    """Count multiply-accumulates one by one in a loop implementation of attention."""
    qk = av = 0
    for _i in range(T_len):
        for _j in range(T_len):
            for _c in range(d_k):
                qk += 1  # s_ij += q_ic * k_jc
    for _i in range(T_len):
        for _c in range(d_v):
            for _j in range(T_len):
                av += 1  # o_ic += w_ij * v_jc
    return qk, av


@pytest.mark.equation("attention.macs")
@pytest.mark.parametrize("T_len,d_k,d_v", [(1, 1, 1), (3, 2, 5), (7, 4, 4), (16, 8, 3)])
def test_attention_macs_equal_counted_operations(backend, equation, T_len, d_k, d_v):
    """The formula (SymPy/NumPy) and the count of torch's FlopCounterMode (torch backends) equal a loop count."""
    got = backend.call(T, "attention_macs", T_len, d_k, d_v)
    counted = _counted_macs(T_len, d_k, d_v)
    assert_close(np.asarray(got), np.asarray(counted, dtype=np.float64), tolerance_for("exact"), equation=equation,
                 backend=backend.label, inputs={"T": T_len, "d_k": d_k, "d_v": d_v},
                 expected_from="multiply-adds counted in a loop")


@pytest.mark.symbolic
@pytest.mark.equation("attention.macs")
def test_attention_macs_symbolic_form_is_quadratic_in_T():
    from specs.attention import attention_macs

    T_, d_k, d_v = sp.symbols("T d_k d_v", positive=True, integer=True)
    qk, av = attention_macs(T_, d_k, d_v)
    assert sp.degree(qk, T_) == 2 and sp.degree(av, T_) == 2
    assert sp.simplify(qk.subs(T_, 2 * T_) / qk) == 4  # doubling T quadruples the cost


# ---------------------------------------------------------------- FlashAttention (tiled online softmax)


@pytest.mark.equation("attention.flash_tiled")
@given(qkv=S.qkv_triples(self_attention=True, max_len=4, max_dim=3, exact=True),
       block=st.integers(1, 4), causal=st.booleans())
def test_flash_attention_matches_oracle(backend, oracle, equation, qkv, block, causal):
    agree(backend, oracle, T, "flash_attention", qkv["Q"], qkv["K"], qkv["V"], block_size=block, causal=causal,
          equation=equation, inputs=dict(qkv, block_size=block, causal=causal))


@pytest.mark.equation("attention.flash_tiled")
@given(qkv=S.qkv_triples(self_attention=True, max_len=7, batch=True), block=st.integers(1, 8), causal=st.booleans())
def test_flash_attention_equals_full_attention(numeric_backend, reference, equation, qkv, block, causal):
    Q, K, V = qkv["Q"], qkv["K"], qkv["V"]
    got = numeric_backend.call(T, "flash_attention", Q, K, V, block_size=block, causal=causal)
    n = Q.shape[-2]
    mask = np.tril(np.ones((n, n), dtype=bool)) if causal else None
    full, _ = reference.call(T, "scaled_dot_product_attention", Q, K, V, mask)
    assert_close(got, full, numeric_backend.tolerance(equation), equation=equation, backend=numeric_backend.label,
                 inputs=dict(qkv, block_size=block, causal=causal),
                 expected_from="full softmax(QK^T/sqrt(d_k))V (NumPy reference)")


# ---------------------------------------------------------------- linear attention (kernel sketch)


@pytest.mark.equation("attention.linear_kernel")
@given(qkv=S.qkv_triples(self_attention=True, max_len=3, max_dim=2, exact=True), causal=st.booleans())
def test_linear_attention_matches_oracle(backend, oracle, equation, qkv, causal):
    agree(backend, oracle, T, "linear_attention", qkv["Q"], qkv["K"], qkv["V"], causal=causal, equation=equation,
          inputs=dict(qkv, causal=causal))


@pytest.mark.equation("attention.linear_kernel_recurrent")
@given(qkv=S.qkv_triples(self_attention=True, max_len=3, max_dim=2, exact=True))
def test_linear_attention_recurrent_matches_oracle(backend, oracle, equation, qkv):
    agree(backend, oracle, T, "linear_attention_recurrent", qkv["Q"], qkv["K"], qkv["V"], equation=equation,
          inputs=qkv)


@pytest.mark.equation("attention.linear_kernel_recurrent")
@given(qkv=S.qkv_triples(self_attention=True, max_len=6, batch=True))
def test_linear_attention_recurrent_equals_parallel_form(numeric_backend, equation, qkv):
    Q, K, V = qkv["Q"], qkv["K"], qkv["V"]
    rec = numeric_backend.call(T, "linear_attention_recurrent", Q, K, V)
    par = numeric_backend.call(T, "linear_attention", Q, K, V, causal=True)
    assert_close(rec, par, numeric_backend.tolerance("attention.linear_kernel"), equation=equation,
                 backend=numeric_backend.label, inputs=qkv, what="recurrent form",
                 expected_from="parallel form phi(Q) phi(K)^T V (causal, row-normalised)")


@pytest.mark.equation("attention.linear_kernel")
@given(qkv=S.qkv_triples(max_len=5))
def test_linear_attention_output_rows_are_convex_combinations(numeric_backend, equation, qkv):
    """phi > 0, so the normalised kernel weights form a distribution and outputs stay inside V's range."""
    Q, K, V = qkv["Q"], qkv["K"], qkv["V"]
    out = numeric_backend.call(T, "linear_attention", Q, K, V, causal=False)
    tol = numeric_backend.tolerance(equation)
    slack = tol.atol + tol.rtol * np.abs(V).max()
    assert_true(bool(np.all(out >= V.min(0) - slack) and np.all(out <= V.max(0) + slack)), equation=equation,
                backend=numeric_backend.label, inputs=qkv, law="outputs are convex combinations of V's rows",
                got=out)


# ---------------------------------------------------------------- the page's own code


@pytest.mark.slow
@pytest.mark.worked_example
@pytest.mark.equation("attention.scaled_dot_product", "attention.causal_mask", "attention.multi_head")
def test_scaled_dot_product_attention_page_code_runs_and_its_checks_hold(course_dir):
    """Run the page's code block (read from --course, in a subprocess) and check what it prints:
    rows sum to one, the causal checks are True, shapes follow the page, and the printed scaled
    std is the unscaled one divided by sqrt(512) (to the printed two decimals)."""
    import re

    from lmverify.pagecode import code_blocks, run
    from lmverify.worked import parse_printed, round_to

    blocks = code_blocks(course_dir / "attention_math.md")
    assert len(blocks) == 1, f"expected one code block in attention_math.md, found {len(blocks)}"
    r = run(blocks[0])
    where = f"attention_math.md:{blocks[0].line}"
    assert r.returncode == 0, f"{where}: the page's code failed:\n{r.stderr[-2000:]}"
    out = r.stdout
    sums = re.search(r"Weights sum per query row: tensor\(\[\[([^\]]*)\]\]\)", out)
    assert sums and all(float(x) == 1.0 for x in sums.group(1).split(",")), f"{where}: {out}"
    assert "last query attends to all? True" in out and "first query attends only to itself? True" in out
    assert "Multi-head output shape: torch.Size([1, 6, 16])" in out
    assert "MHA weights shape: torch.Size([1, 2, 6, 6])" in out
    unscaled = parse_printed(re.search(r"Unscaled score std: ([0-9.]+)", out).group(1), where)
    scaled = parse_printed(re.search(r"Scaled score std:\s+([0-9.]+)", out).group(1), where)
    # unscaled is itself rounded to 0.01, so sqrt(512) * scaled must lie within its rounding interval
    lo, hi = (float(unscaled.value) - 0.005) / math.sqrt(512), (float(unscaled.value) + 0.005) / math.sqrt(512)
    assert round_to(lo, scaled.unit) <= scaled.value <= round_to(hi, scaled.unit), (unscaled, scaled)
    for row in re.findall(r"Softmax\((?:un)?scaled\):\s+\[\[\[([^\]]*)\]\]\]", out):
        probs = [float(x) for x in row.split()]
        assert abs(sum(probs) - 1.0) <= 0.0005 * len(probs), f"{where}: printed softmax row {probs} does not sum to one"
