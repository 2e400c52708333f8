"""Sequence to sequence (sequence_to_sequence.md): laws particular to one equation, oracles, proofs.

The generic checks (every backend against its oracle, pinned extremes, batching, gradients, errors,
student mistakes) come from lmverify/registry/seq2seq.py through tests/test_equations.py. Here:

* encoder-decoder: the encoder is the recurrent topic's forward pass with any cell (oracles: torch
  nn.RNN / nn.LSTM / nn.GRU through the recurrent topic's weight mappings); c = h_T = nn.RNN's h_n;
  the two ways of feeding c differ and coincide in the stated special case; the bottleneck (two
  sources with one c give identical distributions, exactly in SymPy);
* Bahdanau: simplex, shift invariance, padding masks, convex hull (a linear program);
* Luong: dot = general with W_a = I; one-query scaled dot-product attention without scaling
  (F.scaled_dot_product_attention(scale=1) and the attention topic's function, exactly in SymPy);
  the concat score = the additive score with stacked weights;
* teacher forcing vs free running, both directions; scheduled sampling schedules and the sampler's
  rate (Hoeffding); greedy and beam search against exhaustive search; bidirectional encoders.

The page's code block is tested in tests/test_seq2seq_page_code.py.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from lmverify import strategies as S
from lmverify.backends import Backend
from lmverify.compare import Requirement, VerificationError
from lmverify.registry.seq2seq import PrefixTable, log_softmax_rows, prefix_tables, toy_decoders
from lmverify.tolerance import received_bound, tolerance_for

T = "seq2seq"
R = "recurrent"


def _rng_model(seed, d_x=2, d_h=2, scale=0.8):
    rng = np.random.default_rng(seed)
    return {"W_hh": rng.normal(0, scale, (d_h, d_h)), "W_xh": rng.normal(0, scale, (d_h, d_x)), "b": rng.normal(0, 0.3, d_h)}


# ====================================================================== encoder-decoder


def _torch_module_states(kind, xs, h0, params, c0=None):
    """Run torch.nn.RNN/LSTM/GRU (float64) with the page's parameters loaded through the recurrent topic."""
    from reference.torch.recurrent import load_into

    d_x, d_h = xs.shape[-1], h0.shape[-1]
    mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind](d_x, d_h, batch_first=True,
                                                                                   dtype=torch.float64)
    load_into(mod, {k: torch.as_tensor(v) for k, v in params.items()})
    x = torch.as_tensor(xs)[None]
    h = torch.as_tensor(h0)[None, None]
    out, state = mod(x, (h, torch.as_tensor(c0)[None, None]) if kind == "lstm" else h)
    return out[0].detach().numpy(), state


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("seq2seq.encoder_recurrence")
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@S.budget(0.2)
@given(seed=st.integers(0, 2**16), T_src=st.integers(1, 5))
def test_encoder_decoder_encoder_any_cell_matches_torch_module(check, cell, seed, T_src):
    """f_enc = each of the recurrent topic's cells; its unrolled states equal torch's module with mapped weights."""
    rng = np.random.default_rng(seed)
    d_x, d_h = 2, 3
    xs, h0 = rng.normal(size=(T_src, d_x)), rng.normal(size=d_h) * 0.5
    if cell == "rnn":
        p = _rng_model(seed, d_x, d_h)
        got = check.call("recurrent.rnn_forward", xs=xs, h0=h0, **p)
        expected, _ = _torch_module_states("rnn", xs, h0, p)
    elif cell == "lstm":
        p = {f"W_{g}": rng.normal(0, 0.6, (d_h, d_h + d_x)) for g in "fico"}
        p.update({f"b_{g}": rng.normal(0, 0.2, d_h) for g in "fico"})
        c0 = rng.normal(size=d_h) * 0.5
        got = check.call("recurrent.lstm_forward", xs=xs, h0=h0, c0=c0, **p)[0]
        expected, _ = _torch_module_states("lstm", xs, h0, p, c0)
    else:
        # PyTorch's reset placement equals the page's GRU only for a diagonal hidden block of W (recurrent topic)
        W = rng.normal(0, 0.6, (d_h, d_h + d_x))
        W[:, :d_h] = np.diag(rng.normal(0, 0.6, d_h))
        p = {"W_z": rng.normal(0, 0.6, (d_h, d_h + d_x)), "W_r": rng.normal(0, 0.6, (d_h, d_h + d_x)), "W": W}
        got = check.call("recurrent.gru_forward", xs=xs, h0=h0, **p)
        expected, _ = _torch_module_states("gru", xs, h0, p)
    check.close(got, expected, what=f"encoder states h_1..h_T ({cell})",
                expected_from=f"torch.nn.{cell.upper()} (float64, weights mapped by the recurrent topic)")


@pytest.mark.equation("seq2seq.encoder_recurrence")
@S.budget(0.2)
@given(seed=st.integers(0, 2**16), T_src=st.integers(2, 3))
def test_encoder_decoder_encoder_state_depends_only_on_the_prefix(check, seed, T_src):
    """h_t^enc = f_enc(x_t, h_{t-1}^enc): changing the last token changes nothing before it."""
    rng = np.random.default_rng(seed)
    p = _rng_model(seed)
    xs = np.round(rng.normal(size=(T_src, 2)) * 4) / 8
    h0 = np.array([0.25, -0.5])
    a = check.call("recurrent.rnn_forward", xs=xs, h0=h0, **p)
    xs2 = xs.copy()
    xs2[-1] += 1.0
    b = check.call("recurrent.rnn_forward", xs=xs2, h0=h0, **p)
    check.exactly(b[:-1], a[:-1], what="h_1..h_{T-1} after changing x_T", expected_from="the unchanged source")


@pytest.mark.oracle
@pytest.mark.equation("seq2seq.context_vector")
@S.budget(0.3)
@given(seed=st.integers(0, 2**16), T_src=st.integers(1, 5))
def test_context_vector_is_the_last_state_torch_h_n(numeric_backend, seed, T_src):
    """c = h_{T_src}^enc equals torch.nn.RNN's final hidden state h_n."""
    from lmverify.check import Check

    check = Check("seq2seq.context_vector", numeric_backend)
    rng = np.random.default_rng(seed)
    p = _rng_model(seed, 2, 3)
    xs, h0 = rng.normal(size=(T_src, 2)), rng.normal(size=3)
    hs = Backend("numpy").call(R, "rnn_forward", xs, h0, p["W_hh"], p["W_xh"], p["b"])
    c = check.call(hs_enc=hs)
    _, h_n = _torch_module_states("rnn", xs, h0, p)
    check.close(c, h_n[0, 0].detach().numpy(), what="c", expected_from="torch.nn.RNN h_n")


@pytest.mark.oracle
@pytest.mark.equation("seq2seq.decoder_recurrence")
@S.budget(0.3)
@given(seed=st.integers(0, 2**16), T=st.integers(1, 4))
def test_encoder_decoder_decoder_matches_torch_rnn(numeric_backend, seed, T):
    """feed='init': the decoder is nn.RNN run on y_0..y_{T-1} from h_0 = c; feed='concat': on [y; c] from 0."""
    from lmverify.check import Check

    check = Check("seq2seq.decoder_recurrence", numeric_backend)
    rng = np.random.default_rng(seed)
    ys, c = rng.normal(size=(T, 2)), rng.normal(size=3)
    p = _rng_model(seed, 2, 3)
    got = check.call(ys_prev=ys, c=c, feed="init", **p)
    expected, _ = _torch_module_states("rnn", ys, c, p)
    check.close(got, expected, what="h^dec (feed='init')", expected_from="torch.nn.RNN from h_0 = c")
    pc = _rng_model(seed + 1, 2 + 3, 3)
    got = check.call(ys_prev=ys, c=c, feed="concat", **pc)
    expected, _ = _torch_module_states("rnn", np.concatenate([ys, np.tile(c, (T, 1))], axis=1), np.zeros(3), pc)
    check.close(got, expected, what="h^dec (feed='concat')", expected_from="torch.nn.RNN on [y; c] from h_0 = 0")


@pytest.mark.oracle
@pytest.mark.equation("seq2seq.output_distribution")
@S.budget(0.3)
@given(h=S.arrays((3, 2)), W=S.arrays((4, 2)), b=S.arrays((4,)))
def test_output_distribution_is_softmax_of_a_linear_layer(check, h, W, b):
    """softmax(W h + b) is a probability vector and equals torch.softmax(nn.Linear(h))."""
    if check.backend.exact:
        h, W, b = (np.round(a * 4) / 4 for a in (h, W, b))
    p = check.call(h_dec=h, W=W, b=b)
    check.law(np.all(p >= 0), "each row is non-negative", got=p)
    check.close(p.sum(-1), np.ones(p.shape[:-1]), what="row sums", expected_from="each row sums to one")
    lin = torch.nn.Linear(2, 4, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.as_tensor(W))
        lin.bias.copy_(torch.as_tensor(b))
    check.close(p, torch.softmax(lin(torch.as_tensor(h)), -1).detach().numpy(), expected_from="torch.softmax(nn.Linear)")


@pytest.mark.equation("seq2seq.encoder_decoder_context_feeding")
def test_encoder_decoder_context_feeding_init_and_concat_are_different_models(check):
    """A counterexample: the same c, the same first-step weights, different second states."""
    ys = np.array([[0.5, -0.25], [0.25, 0.5]])
    c = np.array([0.75, -0.5])
    W_hh = np.array([[0.5, -0.25], [0.25, 0.75]])
    W_y = np.array([[1.0, 0.5], [-0.5, 1.0]])
    b = np.array([0.125, -0.125])
    init = check.call("decoder_forward", ys_prev=ys, c=c, W_hh=W_hh, W_xh=W_y, b=b, feed="init")
    concat = check.call("decoder_forward", ys_prev=ys, c=c, W_hh=W_hh, W_xh=np.concatenate([W_y, W_hh], axis=1), b=b,
                        feed="concat")
    check.close(concat[0], init[0], what="step 1 (the special case: c-weights = W_hh)", expected_from="feed='init'")
    check.law(np.max(np.abs(concat[1] - init[1])) > 1e-3, "the two ways of feeding c differ from step 2 on",
              got=concat[1], expected=init[1])


@pytest.mark.equation("seq2seq.encoder_decoder_context_feeding")
@S.budget(0.3)
@given(seed=st.integers(0, 2**16))
def test_encoder_decoder_context_feeding_coincide_for_one_step(check, seed):
    """Special case: for one step, concat([y; c]) from h_0 = 0 with weights [W_y | W_hh] equals init (h_0 = c)."""
    rng = np.random.default_rng(seed)
    q = lambda *s: np.round(rng.normal(size=s) * 4) / 4  # noqa: E731
    ys, c, W_hh, W_y, b = q(1, 2), q(2), q(2, 2), q(2, 2), q(2)
    init = check.call("decoder_forward", ys_prev=ys, c=c, W_hh=W_hh, W_xh=W_y, b=b, feed="init")
    concat = check.call("decoder_forward", ys_prev=ys, c=c, W_hh=W_hh, W_xh=np.concatenate([W_y, W_hh], axis=1), b=b,
                        feed="concat")
    check.close(concat, init, what="h_1^dec, c concatenated", expected_from="h_1^dec, h_0 = c")


@pytest.mark.symbolic
@pytest.mark.equation("seq2seq.encoder_decoder_context_feeding")
def test_encoder_decoder_context_feeding_special_case_symbolic():
    """With symbols: tanh(W_hh c + W_y y + b) is both models' first state; their second states differ."""
    from specs.seq2seq import decoder_forward

    y1, y2, c1, w, u, v, bb = sp.symbols("y1 y2 c1 w u v b", real=True)
    ys = sp.Matrix([[y1], [y2]])
    init = decoder_forward(ys, sp.ImmutableDenseNDimArray([c1], (1,)), sp.Matrix([[w]]), sp.Matrix([[u]]),
                           sp.ImmutableDenseNDimArray([bb], (1,)), "init")
    concat = decoder_forward(ys, sp.ImmutableDenseNDimArray([c1], (1,)), sp.Matrix([[w]]), sp.Matrix([[u, w]]),
                             sp.ImmutableDenseNDimArray([bb], (1,)), "concat")
    assert init[0, 0] == concat[0, 0]  # tanh(w c1 + u y1 + b), the same expression
    at = {y1: sp.Rational(1, 2), y2: sp.Rational(-1, 4), c1: 1, w: sp.Rational(1, 2), u: 1, bb: 0}
    assert abs(sp.N((init[1, 0] - concat[1, 0]).subs(at), 30)) > sp.Rational(1, 100)  # differ at step 2


def _same_context_sources(seed, exact=False):
    """Two sources whose encoder states differ at steps 1..T-1 and agree at T (so c is the same).

    Elman encoder with d_x = d_h = 2 and an invertible W_xh: source B changes x_1, and its last input
    is solved for: W_xh x'_T = W_xh x_T + W_hh (h_{T-1} - h'_{T-1}), so both pre-activations at T agree.
    """
    rng = np.random.default_rng(seed)
    q = lambda *s: np.round(rng.normal(size=s) * 2) / 8  # noqa: E731
    W_hh, W_xh, b, h0 = q(2, 2), np.clip(q(2, 2), -0.375, 0.375) + np.eye(2), q(2), q(2)  # diagonally dominant
    xa = q(3, 2)
    xb = xa.copy()
    xb[0] += np.array([1.0, -0.5])
    return W_hh, W_xh, b, h0, xa, xb


@pytest.mark.equation("seq2seq.encoder_decoder_bottleneck")
@S.budget(0.3)
@given(seed=st.integers(0, 2**16))
def test_encoder_decoder_bottleneck_same_context_same_distributions(numeric_backend, seed):
    """Two sources with the same c (different states before T) give identical decoder distributions;
    a source with a different c does not."""
    from lmverify.check import Check

    check = Check("seq2seq.encoder_decoder_bottleneck", numeric_backend)
    ref = Backend("numpy")
    W_hh, W_xh, b, h0, xa, xb = _same_context_sources(seed)
    ha = ref.call(R, "rnn_forward", xa[:-1], h0, W_hh, W_xh, b)
    hb = ref.call(R, "rnn_forward", xb[:-1], h0, W_hh, W_xh, b)
    xb[-1] = np.linalg.solve(W_xh, W_xh @ xa[-1] + W_hh @ (ha[-1] - hb[-1]))
    hs_a = ref.call(R, "rnn_forward", xa, h0, W_hh, W_xh, b)
    hs_b = ref.call(R, "rnn_forward", xb, h0, W_hh, W_xh, b)
    rng = np.random.default_rng(seed + 7)
    dec = {"ys_prev": rng.normal(0, 0.5, (3, 2)), "W_hh": rng.normal(0, 0.5, (2, 2)) + np.eye(2),
           "W_xh": rng.normal(0, 0.5, (2, 2)), "b": rng.normal(0, 0.1, 2), "W_out": rng.normal(size=(4, 2)) + [[2, 0], [0, 2], [-2, 0], [0, -2]],
           "b_out": rng.normal(size=4), "feed": "init"}
    pa = check.call(hs_enc=hs_a, **dec)
    pb = check.call(hs_enc=hs_b, **dec)
    diff = np.max(np.abs(hs_a[:-1] - hs_b[:-1]), axis=-1)
    check.law(diff[0] > 1e-2, "the two sources' first encoder states differ", got=hs_b[:-1], expected=hs_a[:-1])
    check.close(pb, pa, what="P(y_t | y_<t, c) for source B", expected_from="source A (same c)")
    hs_c = hs_a.copy()
    hs_c[-1] = -hs_c[-1] + 0.5
    pc = check.call(hs_enc=hs_c, **dec)
    check.law(np.max(np.abs(pc[0] - pa[0])) > 1e-6, "a different c changes the distributions", got=pc, expected=pa)
    # the earlier states do not matter at all: replace them by anything
    hs_d = hs_a.copy()
    hs_d[:-1] = 100.0
    check.close(check.call(hs_enc=hs_d, **dec), pa, what="distributions with h_1..h_{T-1} replaced",
                expected_from="the original source")


@pytest.mark.symbolic
@pytest.mark.equation("seq2seq.encoder_decoder_bottleneck")
def test_encoder_decoder_bottleneck_same_context_exactly():
    """Exactly (SymPy): the two constructed sources reach the same c, so every decoder output is identical."""
    from specs.recurrent import rnn_forward
    from specs.seq2seq import context_vector, encoder_decoder_distributions

    W_hh, W_xh, b, h0, xa, xb = _same_context_sources(3)
    M = lambda a: sp.Matrix(a.shape[0], a.shape[1], [sp.Rational(float(v)) for v in a.ravel()])  # noqa: E731
    A = lambda a: sp.ImmutableDenseNDimArray([sp.Rational(float(v)) for v in a], (len(a),))  # noqa: E731
    Whh, Wxh, bb, hh0 = M(W_hh), M(W_xh), A(b), A(h0)
    ha = rnn_forward(M(xa[:-1]), hh0, Whh, Wxh, bb)
    hb = rnn_forward(M(xb[:-1]), hh0, Whh, Wxh, bb)
    x_last = Wxh.inv() * (Wxh * M(xa[-1:]).T + Whh * (ha[-1, :] - hb[-1, :]).T)
    Xb = M(xb[:-1]).col_join(x_last.T)
    hs_a, hs_b = rnn_forward(M(xa), hh0, Whh, Wxh, bb), rnn_forward(Xb, hh0, Whh, Wxh, bb)
    ca, cb = context_vector(hs_a), context_vector(hs_b)
    assert all(sp.simplify(ca[i] - cb[i]) == 0 for i in range(2)), "the constructed sources must share c exactly"
    assert sp.N(ha[0, 0] - hb[0, 0]) != 0, "their first encoder states must differ"
    dec = (M(np.array([[0.5, -0.25]])), M(np.array([[0.5, 0.25], [-0.25, 0.5]])), M(np.eye(2)), A(np.zeros(2)),
           M(np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])), A(np.zeros(3)))
    pa = encoder_decoder_distributions(hs_a, *dec)
    pb = encoder_decoder_distributions(hs_b, *dec)
    assert all(sp.simplify(pa[i, j] - pb[i, j]) == 0 for i in range(pa.shape[0]) for j in range(pa.shape[1]))


# ====================================================================== Bahdanau attention


@pytest.mark.equation("seq2seq.bahdanau_weights")
@S.budget(0.5)
@given(e=S.logits(max_rows=3, max_len=5, exact=True), shift=S.dyadic)
def test_bahdanau_weights_on_the_simplex_and_shift_invariant(check, e, shift):
    """alpha >= 0, sum_j alpha_j = 1 per step, and alpha(e + const) = alpha(e)."""
    a = check.call(e=e)
    check.law(np.all(a >= 0), "weights are non-negative", got=a)
    check.close(a.sum(-1), np.ones(a.shape[:-1]), what="sum of the weights over j", expected_from="one per step")
    check.close(check.call(e=e + shift), a, what="alpha(e + const)", expected_from="alpha(e)")


@pytest.mark.equation("seq2seq.bahdanau_weights")
@S.budget(0.5)
@given(data=st.data())
def test_bahdanau_weights_padding_mask_gives_exactly_zero(check, data):
    """A padded source position gets weight exactly 0; the rest are the softmax over the kept positions."""
    e = data.draw(S.logits(max_rows=3, max_len=5, exact=True), label="e")
    mask = data.draw(S.masks(1, e.shape[1]), label="mask")[0]
    a = check.call(e=e, mask=mask)
    check.exactly(a[:, ~mask], np.zeros((e.shape[0], int((~mask).sum()))), what="weights of padded positions",
                  expected_from="the mask")
    kept = check.call(e=e[:, mask])
    check.close(a[:, mask], kept, what="weights of kept positions", expected_from="softmax over the kept positions only")


@pytest.mark.equation("seq2seq.bahdanau_weights")
def test_bahdanau_weights_huge_scores_no_overflow(check):
    a = check.call(e=np.array([1e4, -1e4, 1e4 - 1.0]))
    check.law(np.all(np.isfinite(a)), "finite weights (no overflow)", got=a)
    check.close(a.sum(), 1.0, what="sum of the weights", expected_from="one")


@pytest.mark.equation("seq2seq.bahdanau_context")
@S.budget(0.3)
@given(data=st.data())
def test_bahdanau_context_in_the_convex_hull(numeric_backend, data):
    """c_t is a convex combination of the encoder states: a linear program finds lambda >= 0, sum 1, H^T lambda = c."""
    from scipy.optimize import linprog

    from lmverify.check import Check

    check = Check("seq2seq.bahdanau_context", numeric_backend)
    T_src, d = data.draw(S.dims(5), label="T_src"), data.draw(S.dims(3), label="d")
    H = data.draw(S.arrays((T_src, d)), label="h_enc")
    e = data.draw(S.arrays((T_src,)), label="e")
    alpha = check.call("alignment_weights", e=e)
    c = check.call(alpha=alpha, h_enc=H)
    # the states as the backend received them (rounded to its dtype), and its tolerance relative to max |H|
    received = check.bound(lambda h_enc: h_enc, h_enc=H, roundings=0, tol=check.tol, scale=lambda h_enc: np.abs(h_enc).max())
    Hr, slack = received.value, float(np.max(received.margin))
    # |H^T lambda - c| <= the backend's tolerance, lambda >= 0, sum lambda = 1 (c carries the backend's rounding)
    A_ub = np.vstack([Hr.T, -Hr.T])
    b_ub = np.concatenate([c + slack, -(c - slack)])
    res = linprog(np.zeros(T_src), A_ub=A_ub, b_ub=b_ub, A_eq=np.ones((1, T_src)), b_eq=[1.0],
                  bounds=[(0, None)] * T_src, method="highs")
    check.law(res.status == 0, "c_t lies in the convex hull of h_1..h_T (the LP is feasible)", got=c,
              expected=Requirement(f"lambda >= 0, sum lambda = 1 with |H^T lambda - c| <= {slack:.6g} (the LP "
                                   f"is feasible); the LP's status is {res.status}: {res.message}"))
    lo, hi = (check.bound(lambda h_enc: f(h_enc, axis=0), h_enc=H, roundings=0, tol=check.tol,
                          scale=lambda h_enc: np.abs(h_enc).max(), what=f"{f.__name__} of the states")
              for f in (np.min, np.max))
    check.within(c, "each coordinate of c_t lies between the states' extremes", lower=lo, upper=hi)


@pytest.mark.equation("seq2seq.bahdanau_context")
@S.budget(0.3)
@given(H=S.arrays((3, 2), exact=True), j=st.integers(0, 2))
def test_bahdanau_context_one_hot_selects_uniform_averages(check, H, j):
    check.close(check.call(alpha=np.eye(3)[j], h_enc=H), H[j], what="c_t for one-hot weights", expected_from="h_j")
    check.close(check.call(alpha=np.full(3, 1 / 3), h_enc=H), H.mean(axis=0), what="c_t for uniform weights",
                expected_from="the mean state")


@pytest.mark.equation("seq2seq.bahdanau_attention")
@S.budget(0.3)
@given(data=st.data())
def test_bahdanau_attention_is_score_softmax_context(check, data):
    """bahdanau_attention = attention.additive_score, then the weights, then the context; a padded
    position's state does not move c_t."""
    T_src, d_h, d_s, d_a = (data.draw(S.dims(3)) for _ in range(4))
    ex = check.exact
    kw = {"h_enc": data.draw(S.arrays((T_src, d_h), exact=ex)), "s_prev": data.draw(S.arrays((d_s,), exact=ex)),
          "W1": data.draw(S.arrays((d_a, d_h), exact=ex)), "W2": data.draw(S.arrays((d_a, d_s), exact=ex)),
          "v": data.draw(S.arrays((d_a,), exact=ex))}
    mask = data.draw(S.masks(1, T_src), label="mask")[0]
    c, a = check.call(**kw, mask=mask)
    e = check.call("attention.additive_score", h_enc=kw["h_enc"], s=kw["s_prev"], W1=kw["W1"], W2=kw["W2"], v=kw["v"])
    a2 = check.call("alignment_weights", e=e, mask=mask)
    check.close(a, a2, what="alpha", expected_from="alignment_weights(additive_score)")
    check.close(c, check.call("context_from_weights", alpha=a2, h_enc=kw["h_enc"]), what="c_t",
                expected_from="context_from_weights")
    if not mask.all():
        moved = dict(kw, h_enc=np.where(mask[:, None], kw["h_enc"], 3.0))
        c3, _ = check.call(**moved, mask=mask)
        check.close(c3, c, what="c_t with padded states changed", expected_from="c_t")


# ====================================================================== Luong attention


@pytest.mark.equation("seq2seq.luong_dot_score")
@S.budget(0.3)
@given(data=st.data())
def test_luong_dot_equals_general_with_identity(check, data):
    T_src, d = data.draw(S.dims(4)), data.draw(S.dims(3))
    h, H = data.draw(S.arrays((d,), exact=True)), data.draw(S.arrays((T_src, d), exact=True))
    check.close(check.call(h_dec=h, h_enc=H), check.call("luong_general_score", h_dec=h, h_enc=H, W_a=np.eye(d)),
                what="dot score", expected_from="general score with W_a = I")


@pytest.mark.equation("seq2seq.luong_general_score")
@S.budget(0.3)
@given(data=st.data())
def test_luong_general_is_dot_with_projected_states(check, data):
    """h^T W_a h_j = h . (W_a h_j) = (W_a^T h) . h_j: bilinear."""
    T_src, d1, d2 = data.draw(S.dims(4)), data.draw(S.dims(3)), data.draw(S.dims(3))
    h, H = data.draw(S.arrays((d1,), exact=True)), data.draw(S.arrays((T_src, d2), exact=True))
    W = data.draw(S.arrays((d1, d2), exact=True))
    g = check.call(h_dec=h, h_enc=H, W_a=W)
    check.close(g, check.call("luong_dot_score", h_dec=h, h_enc=H @ W.T), expected_from="dot score with W_a h_j")
    check.close(g, check.call("luong_dot_score", h_dec=W.T @ h, h_enc=H), expected_from="dot score with W_a^T h_dec")
    check.close(check.call(h_dec=2 * h, h_enc=H, W_a=W), 2 * g, what="score of 2 h_dec", expected_from="2 x score")


@pytest.mark.oracle
@pytest.mark.equation("seq2seq.luong_dot_score")
@S.budget(0.3)
@given(data=st.data())
def test_luong_dot_attention_equals_sdpa_one_query_no_scaling(check, data):
    """softmax(dot scores) and sum alpha_j h_j = F.scaled_dot_product_attention(q, K=V=h_enc, scale=1)
    = the attention topic's scaled_dot_product_attention with q = sqrt(d) h_dec."""
    T_src, d = data.draw(S.dims(4)), data.draw(S.dims(3))
    h, H = data.draw(S.arrays((d,), exact=True)), data.draw(S.arrays((T_src, d), exact=True))
    alpha = check.call("alignment_weights", e=check.call(h_dec=h, h_enc=H))
    ctx = check.call("context_from_weights", alpha=alpha, h_enc=H)
    Ht = torch.as_tensor(H)[None]
    sdpa = F.scaled_dot_product_attention(torch.as_tensor(h)[None, None], Ht, Ht, scale=1.0)[0, 0].numpy()
    check.close(ctx, sdpa, what="Luong dot context", expected_from="F.scaled_dot_product_attention(scale=1.0)")
    out, w = check.call("attention.scaled_dot_product_attention", Q=math.sqrt(d) * h[None], K=H, V=H)
    check.close(alpha, w[0], what="Luong dot weights", expected_from="attention.scaled_dot_product_attention(sqrt(d) q)")
    check.close(ctx, out[0], what="Luong dot context", expected_from="attention.scaled_dot_product_attention(sqrt(d) q)")


@pytest.mark.symbolic
@pytest.mark.equation("seq2seq.luong_dot_score")
def test_luong_dot_attention_equals_sdpa_symbolic():
    """Exactly: the sqrt(d) in the query cancels the 1/sqrt(d) of scaled dot-product attention."""
    from specs.seq2seq import alignment_weights, context_from_weights, luong_dot_as_attention, luong_dot_score

    h = sp.ImmutableDenseNDimArray(sp.symbols("h1:3", real=True), (2,))
    H = sp.Matrix(3, 2, sp.symbols("k1:7", real=True))
    a = alignment_weights(luong_dot_score(h, H))
    c = context_from_weights(a, H)
    c2, a2 = luong_dot_as_attention(h, H)
    assert all(sp.simplify(a[j] - a2[j]) == 0 for j in range(3))
    assert all(sp.simplify(c[i] - c2[i]) == 0 for i in range(2))


@pytest.mark.equation("seq2seq.luong_concat_score")
@S.budget(0.3)
@given(data=st.data())
def test_luong_concat_equals_additive_score_with_stacked_weights(check, data):
    """v_a^T tanh(W_a [h_dec; h_j]) = v^T tanh(W1 h_j + W2 h_dec) with W_a = [W2 | W1]; |e_j| <= ||v_a||_1."""
    T_src, d_dec, d_enc, d_a = (data.draw(S.dims(3)) for _ in range(4))
    ex = check.exact
    h, H = data.draw(S.arrays((d_dec,), exact=ex)), data.draw(S.arrays((T_src, d_enc), exact=ex))
    W1, W2, v = (data.draw(S.arrays(s, exact=ex)) for s in ((d_a, d_enc), (d_a, d_dec), (d_a,)))
    _luong_concat_is_additive_and_bounded(check, h, H, W1, W2, v)


def _luong_concat_is_additive_and_bounded(check, h, H, W1, W2, v):
    e = check.call(h_dec=h, h_enc=H, W_a=np.concatenate([W2, W1], axis=1), v_a=v)
    check.close(e, check.call("attention.additive_score", h_enc=H, s=h, W1=W1, W2=W2, v=v),
                expected_from="attention.additive_score (Bahdanau) with W_a = [W2 | W1]")
    # the bound of the v_a the backend received (float32: a subnormal v_a rounds by up to 2^-150); the dot
    # product v_a . tanh(...) of d_a terms rounds d_a times, and |tanh| <= 1 holds in floating point too
    check.inputs = {"h_dec": h, "h_enc": H, "W_a": np.concatenate([W2, W1], axis=1), "v_a": v}
    bound = check.bound(lambda v_a: np.abs(v_a).sum(), v_a=v, roundings=len(v), what="||v_a||_1")
    check.within(np.abs(e), "|e_j| <= ||v_a||_1 since |tanh| < 1", upper=bound, got=e)


@pytest.mark.equation("seq2seq.luong_concat_score")
def test_luong_concat_score_bound_on_a_subnormal_float32_v_a_found_by_the_thorough_profile(check):
    """The thorough profile's case: v_a = 3.18902254e-43 is normal in float64 and subnormal in float32, which
    holds 228 x 2^-149 = 3.1949605e-43 (0.19% more); the float32 score tanh(4) v_a rounds to that same number.
    The bound is that of the v_a the backend received: held on every backend, broken by the float64 draw's."""
    h, H, W1, W2 = np.array([4.0]), np.array([[0.0]]), np.array([[0.0]]), np.array([[1.0]])
    v = np.array([3.18902254e-43])
    _luong_concat_is_additive_and_bounded(check, h, H, W1, W2, v)
    if check.backend.dtype == "float32":  # the float64 draw's bound is broken, and the failure says by how much
        e = check.call(h_dec=h, h_enc=H, W_a=np.concatenate([W2, W1], axis=1), v_a=v)
        drawn = received_bound("float64", lambda v_a: np.abs(v_a).sum(), {"v_a": v}, roundings=1, what="||v_a||_1")
        with pytest.raises(VerificationError) as info:
            check.within(np.abs(e), "|e_j| <= ||v_a||_1 since |tanh| < 1", upper=drawn, got=e)
        expected = str(info.value).split("Expected (what the law requires):\n", 1)[1].split("\nGot:", 1)[0]
        assert "None" not in expected
        for words in ("upper bound ||v_a||_1 = 3.18902254e-43", "margin = 7.08", "limit = bound + margin = 3.189",
                      "furthest beyond the upper limit: the element at (0,), 3.1949605e-43, by 5.9"):
            assert words in expected, f"{words!r} not in:\n{expected}"


# ====================================================================== teacher forcing and free running


def _model_args(m):
    return {k: m[k] for k in ("h0", "E", "W_hh", "W_xh", "b", "W_out", "b_out")}


@pytest.mark.equation("seq2seq.teacher_forcing")
@S.budget(0.3)
@given(data=st.data())
def test_teacher_forcing_logits_depend_only_on_the_true_prefix(check, data):
    """The input at step t is y_{t-1}: changing y_t.. y_T leaves the logits of steps 1..t unchanged."""
    m, V, _ = data.draw(toy_decoders(exact=check.exact, max_len=3), label="model")
    T_ = data.draw(st.integers(2, 3), label="T")
    y = data.draw(st.lists(st.integers(0, V - 1), min_size=T_, max_size=T_), label="targets")
    t = data.draw(st.integers(1, T_ - 1), label="t")
    a = check.call(targets=np.array(y), **_model_args(m))
    y2 = list(y)
    y2[t] = (y2[t] + 1) % V
    b = check.call(targets=np.array(y2), **_model_args(m))
    check.exactly(b[: t + 1], a[: t + 1], what=f"logits of steps 1..{t + 1} after changing y_{t + 1}",
                  expected_from="the unchanged targets")


@pytest.mark.oracle
@pytest.mark.equation("seq2seq.teacher_forcing")
@S.budget(0.3)
@given(seed=st.integers(0, 2**16), T_=st.integers(1, 5))
def test_teacher_forcing_matches_torch_rnn_on_shifted_targets(numeric_backend, seed, T_):
    from lmverify.check import Check

    check = Check("seq2seq.teacher_forcing", numeric_backend)
    rng = np.random.default_rng(seed)
    V, d_y, d_h = 4, 2, 3
    p = _rng_model(seed, d_y, d_h)
    m = dict(p, h0=rng.normal(size=d_h), E=rng.normal(size=(V, d_y)), W_out=rng.normal(size=(V, d_h)), b_out=rng.normal(size=V))
    y = rng.integers(0, V, T_)
    got = check.call(targets=y, bos=1, **m)
    hs, _ = _torch_module_states("rnn", m["E"][np.concatenate([[1], y[:-1]])], m["h0"], p)
    check.close(got, hs @ m["W_out"].T + m["b_out"], expected_from="torch.nn.RNN on E[<sos>, y_1..y_{T-1}] + nn.Linear")


@pytest.mark.oracle
@pytest.mark.equation("seq2seq.teacher_forcing_loss")
@S.budget(0.3)
@given(logits=S.logits(max_rows=4, max_len=5), seed=st.integers(0, 2**16))
def test_teacher_forcing_loss_equals_cross_entropy_sum(numeric_backend, logits, seed):
    """log P(y) = -F.cross_entropy(reduction='sum') = -T x the recurrent topic's sequence_loss."""
    from lmverify.check import Check

    check = Check("seq2seq.teacher_forcing_loss", numeric_backend)
    y = np.random.default_rng(seed).integers(0, logits.shape[1], logits.shape[0])
    ll = check.call(logits=logits, targets=y)
    ce = F.cross_entropy(torch.as_tensor(logits), torch.as_tensor(y), reduction="sum").item()
    check.close(ll, -ce, expected_from="-F.cross_entropy(reduction='sum')")
    check.close(ll, -len(y) * check.reference("recurrent.sequence_loss", logits=logits, targets=y),
                expected_from="-T x recurrent.sequence_loss")


def _tf_and_fr(check, m, targets, bos):
    args = _model_args(m)
    tf = check.call("teacher_forcing_logits", targets=targets, bos=bos, **args)
    fr_tokens, fr_logits = check.call(steps=len(targets), bos=bos, **args)
    return tf, fr_tokens, fr_logits


@pytest.mark.equation("seq2seq.teacher_forcing_free_running")
@S.budget(0.5)
@given(data=st.data())
def test_teacher_forcing_free_running_identical_exactly_when_predictions_equal_targets(check, data):
    """Both directions: (every teacher-forced argmax equals its target) <=> (free running reproduces the
    targets); then the logits, hence the losses, are identical."""
    from lmverify.registry.seq2seq import _margins_ok

    m, V, T_ = data.draw(toy_decoders(exact=check.exact, max_len=3), label="model")
    bos = data.draw(st.integers(0, V - 1), label="bos")
    from hypothesis import assume

    assume(_margins_ok(m, T_, bos))
    fr_ref, _ = check.reference(steps=T_, bos=bos, **_model_args(m))
    # half the time the targets ARE the model's own predictions; otherwise arbitrary
    own = data.draw(st.booleans(), label="targets = the model's own predictions")
    y = fr_ref.astype(int) if own else np.array(data.draw(st.lists(st.integers(0, V - 1), min_size=T_, max_size=T_)))
    tf, fr_tokens, fr_logits = _tf_and_fr(check, m, y, bos)
    tf_ref = check.reference("teacher_forcing_logits", targets=y, bos=bos, **_model_args(m))
    assume(np.all(np.diff(np.sort(tf_ref, axis=-1)[:, -2:], axis=-1) > 1e-3))  # no float32 near-ties
    all_right = bool(np.all(np.argmax(tf, axis=-1) == y))
    same_seq = bool(np.all(fr_tokens == y))
    check.law(all_right == same_seq, "free running reproduces the targets exactly when every teacher-forced "
              "prediction equals its target", got=fr_tokens, expected=y)
    if all_right:
        check.close(fr_logits, tf, what="free-running logits", expected_from="teacher-forced logits")
        check.close(check.call("sequence_log_likelihood", logits=fr_logits, targets=y),
                    check.call("sequence_log_likelihood", logits=tf, targets=y), what="free-running loss",
                    expected_from="teacher-forced loss")


@pytest.mark.equation("seq2seq.teacher_forcing_free_running")
def test_teacher_forcing_free_running_losses_differ_when_a_prediction_is_wrong(check):
    """A wrong prediction at step 1 changes every later input, so the losses differ (a fixed model)."""
    m = {"h0": np.array([0.5, -0.5]), "E": np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0]]),
         "W_hh": np.array([[0.5, 0.25], [-0.25, 0.5]]), "W_xh": np.array([[1.0, -1.0], [0.5, 2.0]]),
         "b": np.array([0.0, 0.125]), "W_out": np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0]]), "b_out": np.zeros(3)}
    fr, _ = check.call(steps=3, bos=0, **m)
    y = fr.astype(int).copy()
    y[0] = (y[0] + 1) % 3
    tf, fr_tokens, fr_logits = _tf_and_fr(check, m, y, 0)
    check.law(np.any(fr_tokens != y), "free running does not reproduce targets it mispredicts", got=fr_tokens)
    ll_tf = check.call("sequence_log_likelihood", logits=tf, targets=y)
    ll_fr = check.call("sequence_log_likelihood", logits=fr_logits, targets=y)
    check.law(abs(ll_tf - ll_fr) > 1e-3, "the losses differ", got=ll_fr, expected=ll_tf)


@pytest.mark.equation("seq2seq.teacher_forcing_free_running")
def test_teacher_forcing_free_running_equal_losses_without_equal_sequences(check):
    """The converse for LOSSES holds only generically: with two tokens sharing one embedding, a
    mispredicted token feeds the same input, so the losses are equal although the sequences differ."""
    m = {"h0": np.array([0.5, -0.5]), "E": np.array([[1.0, 0.0], [0.25, 0.75], [0.25, 0.75]]),
         "W_hh": np.array([[0.5, 0.25], [-0.25, 0.5]]), "W_xh": np.array([[1.0, -1.0], [0.5, 2.0]]),
         "b": np.array([0.0, 0.125]), "W_out": np.array([[0.0, 0.0], [1.0, 0.0], [0.75, 0.0]]),
         "b_out": np.array([-5.0, 0.0, 0.0])}
    fr, _ = check.call(steps=2, bos=0, **m)
    y = fr.astype(int).copy()
    check.law(np.all(np.isin(y, [1, 2])), "the model predicts one of the tied tokens", got=fr)
    y = np.where(y == 1, 2, 1)  # swap each prediction for its twin
    tf, fr_tokens, fr_logits = _tf_and_fr(check, m, y, 0)
    check.law(np.all(fr_tokens != y), "free running differs from the targets at every step", got=fr_tokens)
    check.close(check.call("sequence_log_likelihood", logits=fr_logits, targets=y),
                check.call("sequence_log_likelihood", logits=tf, targets=y), what="free-running loss",
                expected_from="teacher-forced loss (tied embeddings)")


# ====================================================================== scheduled sampling


_SCHEDULES = [
    ("seq2seq.scheduled_sampling_linear", {"k": 1.0, "c": 1e-3, "epsilon": 0.05}),
    ("seq2seq.scheduled_sampling_exponential", {"k": 0.995}),
    ("seq2seq.scheduled_sampling_inverse_sigmoid", {"k": 100.0}),
]


@pytest.mark.numeric
@pytest.mark.equation("seq2seq.scheduled_sampling_linear")
def test_scheduled_sampling_linear_monotone_floor(check):
    i = np.arange(0, 3000, 7)
    eps = np.array([check.call(i=int(n), k=1.0, c=1e-3, epsilon=0.05) for n in i])
    check.law(np.all(np.diff(eps) <= 0) & (eps <= 1) & (eps >= 0.05), "non-increasing, in [epsilon, k]", got=eps)
    check.close(eps[-1], 0.05, what="epsilon_i for i past (k - epsilon)/c", expected_from="the floor epsilon")


@pytest.mark.numeric
@pytest.mark.equation("seq2seq.scheduled_sampling_exponential")
def test_scheduled_sampling_exponential_monotone_limit(check):
    eps = np.array([check.call(i=n, k=0.995) for n in range(0, 5000, 11)])
    check.law(np.all(np.diff(eps) < 0) & (eps > 0) & (eps <= 1), "strictly decreasing in (0, 1]", got=eps)
    check.law(eps[-1] < 1e-9, "tends to 0", got=eps[-1])


@pytest.mark.numeric
@pytest.mark.equation("seq2seq.scheduled_sampling_inverse_sigmoid")
def test_scheduled_sampling_inverse_sigmoid_monotone_limit(check):
    eps = np.array([check.call(i=n, k=100.0) for n in range(0, 10000, 13)])
    check.law(np.all(np.diff(eps) < 0) & (eps > 0) & (eps < 1), "strictly decreasing in (0, 1)", got=eps)
    check.close(eps[0], 100 / 101, what="epsilon_0", expected_from="k / (k + 1)")
    check.law(eps[-1] < 1e-30, "tends to 0", got=eps[-1])


@pytest.mark.symbolic
@pytest.mark.equation("seq2seq.scheduled_sampling_linear", "seq2seq.scheduled_sampling_exponential",
                      "seq2seq.scheduled_sampling_inverse_sigmoid")
def test_scheduled_sampling_schedules_symbolic_monotonicity_and_limits():
    from specs.seq2seq import schedule_limits

    lim = schedule_limits()
    k, c, eps = sp.symbols("k c epsilon", positive=True)
    assert lim["linear"][0] == -c  # slope -c < 0
    assert sp.simplify(lim["linear"][1] - (k - eps) / c) == 0  # the floor is reached at i = (k - eps)/c
    d_exp, lim_exp = lim["exponential"]
    kk = sp.Symbol("k", positive=True)
    i = sp.Symbol("i", nonnegative=True)
    assert sp.simplify(d_exp - kk**i * sp.log(kk)) == 0  # k^i log k < 0 for 0 < k < 1
    assert lim_exp == 0
    d_sig, lim_sig, at0 = lim["inverse_sigmoid"]
    assert lim_sig == 0 and sp.simplify(at0 - kk / (kk + 1)) == 0
    # the derivative's sign: -exp(i/k) / (k + exp(i/k))^2 < 0
    assert sp.simplify(d_sig + sp.exp(i / kk) / (kk + sp.exp(i / kk)) ** 2) == 0


@pytest.mark.equation("seq2seq.scheduled_sampling_mix")
@S.budget(0.3)
@given(truth=st.lists(st.integers(0, 9), min_size=1, max_size=8), seed=st.integers(0, 1000))
def test_scheduled_sampling_mix_extremes_are_teacher_forcing_and_free_running(check, truth, seed):
    t = np.array(truth)
    pred = (t + 1) % 10
    x1, u1 = check.call(truth=t, predicted=pred, p_truth=1.0, seed=seed)
    x0, u0 = check.call(truth=t, predicted=pred, p_truth=0.0, seed=seed)
    check.exactly(x1, t.astype(float), what="inputs at p_truth = 1", expected_from="the truth (teacher forcing)")
    check.exactly(x0, pred.astype(float), what="inputs at p_truth = 0", expected_from="the predictions (free running)")
    check.law(np.all(u1) & ~np.any(u0), "used_truth is all True at 1 and all False at 0", got=(u1, u0))


@pytest.mark.numeric
@pytest.mark.equation("seq2seq.scheduled_sampling_mix")
@pytest.mark.parametrize("schedule,params", _SCHEDULES, ids=[s.split(".")[1] for s, _ in _SCHEDULES])
def test_scheduled_sampling_mix_empirical_rate_matches_schedule(check, schedule, params):
    """At several training steps i, the fraction of positions fed the truth is within the Hoeffding bound
    sqrt(log(2/delta) / (2 N)) of epsilon_i, with delta = 1e-6 (N = 20000 positions)."""
    N, delta = 20000, 1e-6
    bound = math.sqrt(math.log(2 / delta) / (2 * N))
    truth, pred = np.zeros(N, dtype=np.int64), np.ones(N, dtype=np.int64)
    for n, i in enumerate((0, 500, 1000, 2000)):
        p = float(check.call(schedule.split(".")[1], i=i, **params))
        x, used = check.call(truth=truth, predicted=pred, p_truth=p, seed=1000 + n)
        rate = float(np.mean(used))
        check.law(abs(rate - p) <= bound, f"|empirical rate - epsilon_{i}| <= {bound:.4f} (Hoeffding, delta = 1e-6)",
                  got=rate, expected=p)
        check.exactly(x, np.where(used, 0.0, 1.0), what="inputs", expected_from="truth where used_truth, else prediction")


@pytest.mark.numeric
@pytest.mark.equation("seq2seq.scheduled_sampling_mix")
def test_scheduled_sampling_mix_is_seeded(check):
    t, p = np.arange(50), np.arange(50)[::-1].copy()
    a = check.call(truth=t, predicted=p, p_truth=0.5, seed=42)
    b = check.call(truth=t, predicted=p, p_truth=0.5, seed=42)
    check.exactly(a[0], b[0], what="inputs, same seed", expected_from="the first draw")


# ====================================================================== greedy decoding and beam search


def _exhaustive(step: PrefixTable, L: int):
    """Every sequence of length L over the vocabulary, with its score: the oracle."""
    best, best_s = None, -np.inf
    for seq in itertools.product(range(step.V), repeat=L):
        s = sum(float(step(seq[:t])[seq[t]]) for t in range(L))
        if s > best_s:
            best, best_s = seq, s
    return np.array(best, dtype=np.float64), best_s


@pytest.mark.equation("seq2seq.beam_search")
@S.budget(0.5)
@given(model=prefix_tables(normalised=True, dyadic=False))
def test_beam_width_one_equals_greedy(check, model):
    step, L = model
    tok, s = check.call(step=step, steps=L, beam_width=1)
    gt, gs = check.call("greedy_decode", step=step, steps=L)
    check.exactly(tok, gt, what="beam search (width 1) tokens", expected_from="greedy decoding")
    check.close(s, gs, what="score", expected_from="greedy decoding")


@pytest.mark.oracle
@pytest.mark.equation("seq2seq.beam_search")
@S.budget(0.5)
@given(model=prefix_tables(normalised=True, dyadic=False), width=st.integers(1, 4))
def test_beam_search_exhaustive_oracle(check, model, width):
    """A beam at least V^(L-1) wide finds the exhaustive optimum; no beam exceeds it, and neither does greedy."""
    step, L = model
    best, best_s = _exhaustive(step, L)
    tok, s = check.call(step=step, steps=L, beam_width=step.V ** (L - 1))
    check.close(s, best_s, what="score of a V^(L-1)-wide beam", expected_from="exhaustive search over V^L sequences")
    _, sk = check.call(step=step, steps=L, beam_width=width)
    _, gs = check.call("greedy_decode", step=step, steps=L)
    slack = check.tol.atol + check.tol.rtol * abs(best_s)
    check.law((sk <= best_s + slack) & (gs <= best_s + slack), "beam and greedy never beat the exhaustive optimum",
              got=(sk, gs), expected=best_s)


@pytest.mark.equation("seq2seq.beam_search")
def test_beam_search_wider_beam_can_score_below_greedy(check):
    """"A larger beam never returns a lower score than greedy" is NOT a law: a counterexample (V = 3, L = 3).

    Greedy: a (0.55) then a (0.4), then a certain step: 0.55 x 0.4 = 0.22. Width 2 keeps {a, b} at step 1;
    b's two children (0.45 x 0.5 = 0.225 each) beat a's best (0.22) and push greedy's prefix out of the beam;
    each of them then has a uniform continuation: 0.225 / 3 = 0.075 < 0.22."""
    V, L = 3, 3
    P = np.full((L, V ** (L - 1), V), 1 / 3)
    idx = lambda prefix: sum(y * V**k for k, y in enumerate(prefix))  # noqa: E731
    P[0, 0] = [0.55, 0.45, 0.0]
    P[1, idx((0,))] = [0.4, 0.3, 0.3]
    P[1, idx((1,))] = [0.5, 0.5, 0.0]
    P[2, idx((0, 0))] = [1.0, 0.0, 0.0]
    with np.errstate(divide="ignore"):
        step = PrefixTable(np.log(P))
    g_tok, g_s = check.call("greedy_decode", step=step, steps=L)
    b_tok, b_s = check.call(step=step, steps=L, beam_width=2)
    check.close(np.exp(g_s), 0.22, what="greedy probability", expected_from="0.55 x 0.4 x 1")
    check.close(np.exp(b_s), 0.075, what="width-2 beam probability", expected_from="0.45 x 0.5 x 1/3")
    check.law(b_s < g_s, "the width-2 beam scores below greedy here", got=b_s, expected=g_s)
    best, best_s = _exhaustive(step, L)
    check.close(g_s, best_s, what="greedy score", expected_from="the exhaustive optimum (greedy is optimal here)")


@pytest.mark.equation("seq2seq.beam_search")
def test_beam_search_length_normalisation_prefers_longer_hypotheses(check):
    """With eos, the plain sum favours short hypotheses; dividing by L^alpha (alpha = 1) can prefer a longer one."""
    V, L, eos = 3, 3, 2
    P = np.full((L, V ** (L - 1), V), 1 / 3)
    idx = lambda prefix: sum(y * V**k for k, y in enumerate(prefix))  # noqa: E731
    P[0, 0] = [0.5, 0.0, 0.5]          # eos at once (0.5) or token 0
    P[1, idx((0,))] = [0.0, 0.9, 0.1]
    P[2, idx((0, 1))] = [0.0, 0.0, 1.0]
    with np.errstate(divide="ignore"):
        step = PrefixTable(np.log(P))
    short, s_short = check.call(step=step, steps=L, beam_width=3, eos=eos, alpha=0.0)
    long_, s_long = check.call(step=step, steps=L, beam_width=3, eos=eos, alpha=1.0)
    check.exactly(short, np.array([2.0]), what="best hypothesis by the plain sum", expected_from="eos at once (log 0.5)")
    check.exactly(long_, np.array([0.0, 1.0, 2.0]), what="best by sum / L", expected_from="0 1 eos: log(0.45)/3 > log(0.5)/1")
    check.close(s_long, math.log(0.45), what="its (unnormalised) score", expected_from="log(0.5 x 0.9 x 1)")


@pytest.mark.equation("seq2seq.greedy_decoding")
@S.budget(0.3)
@given(data=st.data())
def test_greedy_decoding_of_the_decoder_equals_free_running(numeric_backend, data):
    """Greedy decoding over the decoder's step function = free running (feeding back the argmax)."""
    from lmverify.check import Check
    from lmverify.registry.seq2seq import DecoderStep, _margins_ok

    check = Check("seq2seq.greedy_decoding", numeric_backend)
    m, V, T_ = data.draw(toy_decoders(max_len=3), label="model")
    from hypothesis import assume

    assume(_margins_ok(m, T_, 0))

    step = DecoderStep(m)  # picklable: it travels to a student's process under --impl
    tok, score = check.call(step=step, steps=T_)
    fr, logits = check.call("free_running_decode", steps=T_, bos=0, **_model_args(m))
    check.exactly(tok, fr, what="greedy tokens", expected_from="free running")
    check.close(score, check.reference("sequence_log_likelihood", logits=logits, targets=fr.astype(int)),
                what="greedy score", expected_from="log-likelihood of the free-running sequence")


# ====================================================================== bidirectional encoders


@pytest.mark.oracle
@pytest.mark.equation("seq2seq.bidirectional_encoder")
@S.budget(0.3)
@given(seed=st.integers(0, 2**16), T_src=st.integers(1, 5))
def test_bidirectional_encoder_matches_torch_and_feeds_bahdanau(numeric_backend, seed, T_src):
    """h_j = [fwd_j; bwd_j] from the recurrent topic equals nn.RNN(bidirectional=True); Bahdanau attention
    over it has encoder dimension 2 d_h and a context in the hull of those states."""
    from lmverify.check import Check
    from reference.torch.recurrent import load_into

    check = Check("seq2seq.bidirectional_encoder", numeric_backend)
    rng = np.random.default_rng(seed)
    d_x, d_h = 2, 3
    xs = rng.normal(size=(T_src, d_x))
    pf, pb = _rng_model(seed, d_x, d_h), _rng_model(seed + 1, d_x, d_h)
    ref = Backend("numpy")
    fwd = ref.call(R, "rnn_forward", xs, np.zeros(d_h), pf["W_hh"], pf["W_xh"], pf["b"])
    bwd = ref.call(R, "rnn_forward", xs[::-1].copy(), np.zeros(d_h), pb["W_hh"], pb["W_xh"], pb["b"])
    H = check.call(hs_forward=fwd, hs_backward=bwd)
    mod = torch.nn.RNN(d_x, d_h, batch_first=True, bidirectional=True, dtype=torch.float64)
    load_into(mod, {k: torch.as_tensor(v) for k, v in pf.items()})
    load_into(mod, {k: torch.as_tensor(v) for k, v in pb.items()}, reverse=True)
    out, _ = mod(torch.as_tensor(xs)[None])
    check.close(H, out[0].detach().numpy(), expected_from="torch.nn.RNN(bidirectional=True), weights mapped")
    s, W1, W2, v = rng.normal(size=d_h), rng.normal(size=(4, 2 * d_h)), rng.normal(size=(4, d_h)), rng.normal(size=4)
    c, a = check.call("seq2seq.bahdanau_attention", h_enc=H, s_prev=s, W1=W1, W2=W2, v=v)
    check.law(c.shape == (2 * d_h,), "the context has the encoder's 2 d_h features", got=c.shape)
    check.close(c, a @ H, what="c_t", expected_from="alpha @ [fwd; bwd]")
