"""Recurrent language models (neural_language_models.md): laws particular to each equation, oracles, proofs.

Agreement of every backend with its oracle, one signature in the three forms, pinned extremes (the
page's `cat` step among them), batched = loop, gradients, error inputs and the known student
mistakes (PyTorch's gate order and GRU conventions, [x; h]) are generated from
``lmverify/registry/recurrent.py`` (tests/test_equations.py). Here: laws (gates in (0, 1), |h| < 1,
unrolled = loop over the cell, BPTT = product of step Jacobians and its bound in both regimes),
PyTorch oracles with the weights mapped (nn.RNN/RNNCell, nn.LSTM/LSTMCell, nn.GRU/GRUCell,
bidirectional layers, F.cross_entropy with ignore_index, an Embedding + Linear stack), the mapping
round trips, and SymPy proofs (dc_t/dc_{t-1} = diag(f_t); the GRU's two PyTorch conventions).
The page's code block is run in tests/test_recurrent_page_code.py.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from lmverify import strategies as S
from lmverify.registry import recurrent as RR
from reference.numpy import recurrent as RN
from reference.torch import recurrent as RT
from specs import recurrent as RS

T64 = torch.float64


def _t(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64), dtype=T64)


def _np(t):
    return t.detach().to(T64).numpy()


@st.composite
def _seq(draw, cell, max_T=4, batch=True):
    """A sequence problem: xs (B, T, d_x) (or (T, d_x)), the initial state(s) and the cell's parameters."""
    d_h, d_x, T = draw(S.dims(3)), draw(S.dims(3)), draw(S.dims(max_T))
    lead = (draw(S.dims(2)),) if batch else ()
    arr = lambda shape: draw(S.arrays(shape, exact=False)) / 4  # noqa: E731 - moderate pre-activations
    out = {"xs": arr(lead + (T, d_x)), "h0": arr(lead + (d_h,))}
    if cell == "rnn":
        out.update(W_hh=arr((d_h, d_h)), W_xh=arr((d_h, d_x)), b=arr((d_h,)))
    elif cell == "lstm":
        out["c0"] = arr(lead + (d_h,))
        out.update({f"W_{g}": arr((d_h, d_h + d_x)) for g in "fico"})
        out.update({f"b_{g}": arr((d_h,)) for g in "fico"})
    else:
        out.update(W_z=arr((d_h, d_h + d_x)), W_r=arr((d_h, d_h + d_x)), W=arr((d_h, d_h + d_x)))
        if draw(st.booleans()):
            out.update(b_z=arr((d_h,)), b_r=arr((d_h,)), b=arr((d_h,)))
    return out


def _params(kw, cell):
    names = {"rnn": ("W_hh", "W_xh", "b"), "lstm": tuple(f"{p}_{g}" for p in "Wb" for g in "fico"),
             "gru": ("W_z", "W_r", "W", "b_z", "b_r", "b")}[cell]
    return {k: kw[k] for k in names if k in kw}


def _diagonal_hidden_block(kw):
    """The GRU candidate's hidden block made diagonal: where the page's and PyTorch's reset placements agree."""
    W = kw["W"].copy()
    d_h = W.shape[0]
    W[:, :d_h] = np.diag(np.diag(W[:, :d_h]))
    return dict(kw, W=W)


# ====================================================================== feed-forward LM


@pytest.mark.numeric
@pytest.mark.equation("recurrent.feedforward_lm")
@given(data=st.data())
@S.budget(1 / 3)
def test_feedforward_lm_is_a_probability_vector(check, data):
    kw = data.draw(RR._ff_inputs(exact=False, batch=2))
    p = check.call(**kw)
    check.law((p >= 0) & (p <= 1 + check.tol.atol), "0 <= P <= 1", got=p)
    check.close(p.sum(axis=-1), np.ones(p.shape[:-1]), what="sum of P over the vocabulary", expected_from="one")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.feedforward_lm")
@given(ids=st.lists(st.integers(0, 4), min_size=1, max_size=3), data=st.data())
@S.budget(1 / 3)
def test_feedforward_lm_matches_embedding_linear_tanh_linear_stack(check, ids, data):
    """Bengio's model as nn.Embedding -> concatenate -> nn.Linear(W, b) -> tanh -> nn.Linear(U, d) -> softmax."""
    d_e, d_h, V = data.draw(S.dims(3)), data.draw(S.dims(3)), 5
    E, W, b, U, d = (data.draw(S.arrays(s)) / 4 for s in ((V, d_e), (d_h, len(ids) * d_e), (d_h,), (V, d_h), (V,)))
    emb = torch.nn.Embedding(V, d_e).double()
    hidden, out = torch.nn.Linear(len(ids) * d_e, d_h).double(), torch.nn.Linear(d_h, V).double()
    with torch.no_grad():
        emb.weight.copy_(_t(E))
        hidden.weight.copy_(_t(W)), hidden.bias.copy_(_t(b))
        out.weight.copy_(_t(U)), out.bias.copy_(_t(d))
        e = emb(torch.tensor(ids))
        expected = torch.softmax(out(torch.tanh(hidden(e.reshape(-1)))), dim=-1)
    got = check.call(es=E[ids], W=W, b=b, U=U, d=d)
    check.close(got, _np(expected), expected_from="nn.Embedding + nn.Linear + tanh + nn.Linear + softmax (float64)")


# ====================================================================== sequence loss


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.sequence_loss")
@given(data=st.data(), pad=st.booleans())
@S.budget(1 / 3)
def test_sequence_loss_matches_torch_cross_entropy_with_ignore_index(check, data, pad):
    B, T, V = data.draw(S.dims(3)), data.draw(S.dims(5)), data.draw(st.integers(2, 6))
    logits = data.draw(S.arrays((B, T, V)))
    targets = np.asarray(data.draw(st.lists(st.integers(0, V - 1), min_size=B * T, max_size=B * T))).reshape(B, T)
    kw = {"logits": logits, "targets": targets}
    ref_kw = {}
    if pad:
        pad_id = int(targets[0, 0])
        if np.all(targets == pad_id):
            targets[0, 0] = (pad_id + 1) % V
        kw["ignore_index"] = ref_kw["ignore_index"] = pad_id
    expected = F.cross_entropy(_t(logits).reshape(-1, V), torch.as_tensor(targets).reshape(-1), **ref_kw)
    check.close(check.call(**kw), _np(expected),
                expected_from="torch.nn.functional.cross_entropy over the flattened positions (mean; ignore_index)")


@pytest.mark.numeric
@pytest.mark.equation("recurrent.sequence_loss")
def test_sequence_loss_with_every_position_ignored_is_nan_as_torch(check):
    logits, targets = np.zeros((2, 3)), np.array([1, 1])
    got = check.call(logits=logits, targets=targets, ignore_index=1)
    torch_value = F.cross_entropy(_t(logits), torch.as_tensor(targets), ignore_index=1)
    check.law(np.isnan(got) and bool(torch.isnan(torch_value)), "0 positions: L = 0/0 is NaN (as F.cross_entropy), "
              "never a number", got=got)


@pytest.mark.numeric
@pytest.mark.equation("recurrent.sequence_loss")
@given(T=st.integers(1, 6), V=st.integers(2, 8))
@S.budget(1 / 3)
def test_sequence_loss_of_uniform_logits_is_log_vocabulary_size(check, T, V):
    got = check.call(logits=np.zeros((T, V)), targets=np.arange(T) % V)
    check.close(got, np.log(V), expected_from="log V (a uniform model)")


# ====================================================================== RNN


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.rnn_cell")
@given(kw=_seq("rnn", max_T=1))
@S.budget(1 / 3)
def test_rnn_cell_matches_torch_rnncell_and_stays_in_the_open_interval(check, kw):
    cell = RT.load_into(torch.nn.RNNCell(kw["xs"].shape[-1], kw["h0"].shape[-1]).double(), _params(kw, "rnn"))
    x = kw["xs"][:, 0]
    with torch.no_grad():
        expected = cell(_t(x), _t(kw["h0"]))
    got = check.call(x=x, h_prev=kw["h0"], **_params(kw, "rnn"))
    check.close(got, _np(expected), expected_from="torch.nn.RNNCell, weight_ih = W_xh, weight_hh = W_hh, bias_ih = b (float64)")
    # |h_t| < 1 exactly; in floating point tanh of a large argument rounds to 1 (float32 from |z| > 9)
    check.law(np.abs(got) <= 1, "|h_t| <= 1 (tanh; < 1 in exact arithmetic)", got=got)


@pytest.mark.numeric
@pytest.mark.equation("recurrent.rnn_forward")
@given(kw=_seq("rnn"))
@S.budget(1 / 3)
def test_rnn_forward_equals_a_loop_over_rnn_cell(check, kw):
    hs = check.call(**kw)
    h, p = kw["h0"], _params(kw, "rnn")
    for t in range(kw["xs"].shape[-2]):
        h = check.reference("rnn_cell", x=kw["xs"][..., t, :], h_prev=h, **p)
        check.close(hs[..., t, :], h, what=f"hs[..., {t}, :]", expected_from="rnn_cell applied t+1 times (same weights each step)")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.rnn_forward")
@given(kw=_seq("rnn"), batch_first=st.booleans())
@S.budget(1 / 3)
def test_rnn_forward_matches_torch_rnn(check, kw, batch_first):
    d_x, d_h = kw["xs"].shape[-1], kw["h0"].shape[-1]
    rnn = RT.load_into(torch.nn.RNN(d_x, d_h, batch_first=batch_first).double(), _params(kw, "rnn"))
    xs = _t(kw["xs"]) if batch_first else _t(kw["xs"]).transpose(0, 1)
    with torch.no_grad():
        out, h_n = rnn(xs, _t(kw["h0"])[None])
    out = out if batch_first else out.transpose(0, 1)
    got = check.call(**kw)
    check.close(got, _np(out), expected_from=f"torch.nn.RNN(batch_first={batch_first}) with the weights mapped")
    check.close(got[:, -1], _np(h_n[0]), what="last state", expected_from="torch.nn.RNN's h_n")


@pytest.mark.equation("recurrent.rnn_forward")
@given(kw=_seq("rnn"))
@S.budget(1 / 3)
def test_rnn_mapping_round_trips_both_ways(kw):
    p = _params(kw, "rnn")
    back = RN.rnn_from_torch(**RN.rnn_to_torch(**p))
    for k in p:
        np.testing.assert_array_equal(back[k], p[k], err_msg=f"page -> torch -> page changed {k}")
    rnn = torch.nn.RNN(kw["xs"].shape[-1], kw["h0"].shape[-1]).double()  # PyTorch's own init, two biases
    page = RT.params_of(rnn)
    again = RT.rnn_to_torch(**page)
    with torch.no_grad():
        np.testing.assert_array_equal(_np(again["weight_ih"]), _np(rnn.weight_ih_l0))
        np.testing.assert_array_equal(_np(again["weight_hh"]), _np(rnn.weight_hh_l0))
        np.testing.assert_allclose(_np(again["bias_ih"] + again["bias_hh"]), _np(rnn.bias_ih_l0 + rnn.bias_hh_l0),
                                   rtol=0, atol=1e-15, err_msg="torch -> page -> torch must keep bias_ih + bias_hh")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.rnn_next_token_probs")
@given(kw=RR._probs_inputs(batch=2))
@S.budget(1 / 3)
def test_rnn_next_token_probs_matches_softmax_of_a_bias_free_linear(check, kw):
    lin = torch.nn.Linear(kw["W_hy"].shape[1], kw["W_hy"].shape[0], bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(_t(kw["W_hy"]))
        expected = torch.softmax(lin(_t(kw["h"])), dim=-1)
    got = check.call(**kw)
    check.close(got, _np(expected), expected_from="torch.softmax(nn.Linear(bias=False)) (float64)")
    check.close(got.sum(axis=-1), np.ones(got.shape[:-1]), what="sum over the vocabulary", expected_from="one")


# ====================================================================== BPTT


@pytest.mark.symbolic
@pytest.mark.equation("recurrent.bptt_step_jacobian")
def test_bptt_step_jacobian_is_diag_one_minus_h_squared_times_W_hh_symbolically():
    J, expected = RS.bptt_step_jacobian_symbolic(2, 1)
    assert sp.simplify(J - expected) == sp.zeros(2, 2), "d tanh(W h + U x + b)/dh != diag(1 - h_t^2) W"


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.bptt_step_jacobian")
@given(kw=_seq("rnn", max_T=1, batch=False))
@S.budget(1 / 3)
def test_bptt_step_jacobian_matches_autograd_of_one_step(check, kw):
    p = {k: _t(v) for k, v in _params(kw, "rnn").items()}
    x = _t(kw["xs"][0])
    J = torch.autograd.functional.jacobian(lambda h: RT.rnn_cell(x, h, **p), _t(kw["h0"]))
    h1 = RN.rnn_cell(kw["xs"][0], kw["h0"], **_params(kw, "rnn"))
    check.close(check.call(h=h1, W_hh=kw["W_hh"]), _np(J), expected_from="torch.autograd.functional.jacobian of rnn_cell")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.bptt_jacobian_product")
@given(kw=_seq("rnn", max_T=6, batch=False), data=st.data())
@S.budget(1 / 3)
def test_bptt_jacobian_product_is_the_gradient_of_a_late_loss_wrt_an_early_state(check, kw, data):
    """dh_T/dh_0 by autograd through the unrolled RNN = J_T ... J_1; a late loss's gradient is its transpose times dL/dh_T."""
    p = {k: _t(v) for k, v in _params(kw, "rnn").items()}
    xs = _t(kw["xs"])
    J_auto = torch.autograd.functional.jacobian(lambda h0: RT.rnn_forward(xs, h0, **p)[-1], _t(kw["h0"]))
    hs = RN.rnn_forward(**kw)
    got = check.call(hs=hs, W_hh=kw["W_hh"])
    check.close(got, _np(J_auto), expected_from="torch.autograd.functional.jacobian of h_T w.r.t. h_0 (float64)")
    # a late loss L = w . h_T: dL/dh_0 = (J_T ... J_1)^T w
    w = data.draw(S.arrays(kw["h0"].shape))
    h0 = _t(kw["h0"]).requires_grad_(True)
    (RT.rnn_forward(xs, h0, **p)[-1] @ _t(w)).backward()
    check.close(got.T @ w, _np(h0.grad), what="(J_T ... J_1)^T dL/dh_T", expected_from="autograd dL/dh_0 of L = w . h_T")


@pytest.mark.equation("recurrent.bptt_gradient_bound")
@given(kw=_seq("rnn", max_T=6, batch=False))
@S.budget(1 / 3)
def test_bptt_gradient_bound_holds(kw):
    """The law itself, in float64 on real RNN states (saturated ones included; the backends' agreement on the
    bound is the generic test's, on states with |h| <= 0.9 where 1 - h^2 is well conditioned)."""
    hs = RN.rnn_forward(**kw)
    bound = RN.bptt_gradient_bound(hs, kw["W_hh"])
    norm = np.linalg.norm(RN.bptt_jacobian_product(hs, kw["W_hh"]), 2)
    assert norm <= bound * (1 + 1e-12) + 1e-300, f"||J_T ... J_1||_2 = {norm} > bound {bound} (hs = {hs}, W_hh = {kw['W_hh']})"


def _scaled_orthogonal(d, scale, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return scale * q


@pytest.mark.numeric
@pytest.mark.equation("recurrent.bptt_gradient_bound")
@pytest.mark.parametrize("T", [10, 50, 100])
def test_bptt_vanishing_regime_spectral_norm_0_9_decays_at_least_like_0_9_to_the_T(check, T):
    """The page: below one, gradients shrink exponentially (0.9^T). W_hh = 0.9 Q (orthogonal Q), any inputs."""
    d = 3
    rng = np.random.default_rng(T)
    kw = {"xs": rng.normal(size=(T, 2)), "h0": rng.normal(size=d) / 2, "W_hh": _scaled_orthogonal(d, 0.9),
          "W_xh": rng.normal(size=(d, 2)), "b": np.zeros(d)}
    hs = RN.rnn_forward(**kw)
    norm = np.linalg.norm(check.call("bptt_jacobian_product", hs=hs, W_hh=kw["W_hh"]), 2)
    # ||W_hh||^T of the W_hh the backend received (0.9 up to its rounding). Each computed factor
    # fl(diag(1 - h^2) W) has norm <= ||W|| (1 + sqrt(d) u) (entries rounded relative u, 0 <= 1 - h^2 <= 1 in
    # floating point too), and each product of d x d matrices adds <= d * gamma_d relative in the 2-norm:
    # T (d^2 + d) roundings to first order
    bound = check.bound(lambda W_hh: np.linalg.norm(W_hh, 2) ** T, W_hh=kw["W_hh"], roundings=T * (d * d + d),
                        what=f"||W_hh||_2^{T} (0.9^{T} = {0.9**T:.6g})")
    check.within(norm, f"||dh_T/dh_0|| <= 0.9^{T} when ||W_hh||_2 = 0.9 (tanh' <= 1)", upper=bound)


@pytest.mark.numeric
@pytest.mark.equation("recurrent.bptt_jacobian_product")
@pytest.mark.parametrize("T", [10, 30])
def test_bptt_exploding_regime_spectral_norm_1_5_grows_in_the_linear_region_and_saturation_shrinks_it(check, T):
    """Above one it explodes ... while the states stay small (tanh' ~ 1); once tanh saturates, tanh' -> 0 wins."""
    d = 3
    W = _scaled_orthogonal(d, 1.5, seed=1)
    small = {"xs": np.zeros((T, 1)), "h0": np.full(d, 1e-9), "W_hh": W, "W_xh": np.zeros((d, 1)), "b": np.zeros(d)}
    hs = RN.rnn_forward(**small)
    norm = np.linalg.norm(check.call(hs=hs, W_hh=W), 2)
    check.law(norm >= 0.99 * 1.5**T, f"||dh_T/dh_0|| ~ 1.5^{T} = {1.5**T:.3g} while |h| stays small (exploding)",
              got=norm, expected=1.5**T)
    saturated = dict(small, h0=np.full(d, 0.5), xs=np.full((T, 1), 20.0), W_xh=np.ones((d, 1)))
    hs = RN.rnn_forward(**saturated)
    norm = np.linalg.norm(check.call(hs=hs, W_hh=W), 2)
    check.law(norm < 1e-6, "with saturated states (|h| -> 1) the tanh' factors make the product vanish despite ||W|| = 1.5",
              got=norm)


@pytest.mark.numeric
@pytest.mark.equation("recurrent.bptt_decay")
def test_bptt_decay_below_one_vanishes_above_one_explodes(check):
    check.law(check.call(factor=0.9, steps=100) < 1e-4, "0.9^100 < 1e-4 (vanishes)", got=check.call(factor=0.9, steps=100))
    check.law(check.call(factor=1.1, steps=100) > 1e4, "1.1^100 > 1e4 (explodes)", got=check.call(factor=1.1, steps=100))
    check.close(check.call(factor=0.9, steps=0), 1.0, what="0.9^0", expected_from="one (no steps)")


@pytest.mark.symbolic
@pytest.mark.equation("recurrent.bptt_decay_log")
def test_bptt_decay_log_of_the_power_is_n_log_factor_exactly():
    n = sp.Symbol("n", positive=True, integer=True)
    f = sp.Rational(9, 10)
    lhs = sp.expand_log(sp.log(RS.gradient_scale_after(f, 50)), force=True)
    assert sp.simplify(lhs - sp.expand_log(50 * sp.log(f), force=True)) == 0, lhs
    assert sp.simplify(sp.exp(n * sp.log(f)) - f**n) == 0


# ====================================================================== LSTM


@pytest.mark.numeric
@pytest.mark.equation("recurrent.lstm_cell")
@given(data=st.data())
@S.budget(1 / 3)
def test_lstm_gates_one_by_one_compose_lstm_cell_and_lie_in_their_ranges(check, data):
    """Every display of the page as its own function equals the step's intermediates (gate-by-gate comparison)."""
    kw = data.draw(RR._lstm_cell_inputs(exact=False, batch=2))
    g = check.call("lstm_gates", **kw)
    x, h = kw["x"], kw["h_prev"]
    f = check.call("lstm_forget_gate", x=x, h_prev=h, W_f=kw["W_f"], b_f=kw["b_f"])
    i = check.call("lstm_input_gate", x=x, h_prev=h, W_i=kw["W_i"], b_i=kw["b_i"])
    c_tilde = check.call("lstm_candidate", x=x, h_prev=h, W_c=kw["W_c"], b_c=kw["b_c"])
    o = check.call("lstm_output_gate", x=x, h_prev=h, W_o=kw["W_o"], b_o=kw["b_o"])
    c = check.call("lstm_cell_update", f=f, c_prev=kw["c_prev"], i=i, c_tilde=c_tilde)
    hh = check.call("lstm_hidden", o=o, c=c)
    check.inputs = kw
    for name, v in (("f", f), ("i", i), ("c_tilde", c_tilde), ("o", o), ("c", c), ("h", hh)):
        check.close(g[name], v, what=f"lstm_gates(...)[{name!r}]", expected_from=f"the page's {name} display on its own")
    for name in ("f", "i", "o"):
        check.law((g[name] >= 0) & (g[name] <= 1), f"{name} in [0, 1] (sigmoid; open interval in exact arithmetic)", got=g[name])
    check.law(np.abs(g["c_tilde"]) <= 1, "candidate in [-1, 1] (tanh)", got=g["c_tilde"])
    check.law(np.abs(g["h"]) <= 1, "|h_t| <= 1: o in (0, 1) times tanh", got=g["h"])
    h_cell, c_cell = check.call("lstm_cell", **kw)
    check.close(h_cell, g["h"], what="lstm_cell h", expected_from="lstm_gates' h")
    check.close(c_cell, g["c"], what="lstm_cell c", expected_from="lstm_gates' c")


@pytest.mark.numeric
@pytest.mark.equation("recurrent.lstm_cell")
def test_lstm_gates_of_moderate_inputs_lie_strictly_inside_their_intervals(check):
    kw = RR.LSTM_GENERAL
    g = check.call("lstm_gates", **kw)
    for name in ("f", "i", "o"):
        check.law((g[name] > 0) & (g[name] < 1), f"{name} in (0, 1)", got=g[name])
    check.law(np.abs(g["c_tilde"]) < 1, "candidate in (-1, 1)", got=g["c_tilde"])
    check.law(np.abs(g["h"]) < 1, "|h_t| < 1", got=g["h"])


def _torch_lstm_gates(cell, x, h, c):
    """The four gates of nn.LSTMCell recomputed from its own weights in its order i, f, g, o."""
    z = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    i, f, g, o = z.chunk(4, dim=-1)
    return {"i": torch.sigmoid(i), "f": torch.sigmoid(f), "c_tilde": torch.tanh(g), "o": torch.sigmoid(o)}


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.lstm_cell")
@given(kw=_seq("lstm", max_T=1))
@S.budget(1 / 3)
def test_lstm_cell_matches_torch_lstmcell_gate_by_gate(check, kw):
    p = _params(kw, "lstm")
    cell = RT.load_into(torch.nn.LSTMCell(kw["xs"].shape[-1], kw["h0"].shape[-1]).double(), p)
    x, h, c = _t(kw["xs"][:, 0]), _t(kw["h0"]), _t(kw["c0"])
    with torch.no_grad():
        h1, c1 = cell(x, (h, c))
        gates = _torch_lstm_gates(cell, x, h, c)
    got_h, got_c = check.call(x=kw["xs"][:, 0], h_prev=kw["h0"], c_prev=kw["c0"], **p)
    how = "torch.nn.LSTMCell with lstm_to_torch's weights (blocks i, f, g, o; [W_hh | W_ih] columns)"
    check.close(got_h, _np(h1), what="h_t", expected_from=how)
    check.close(got_c, _np(c1), what="c_t", expected_from=how)
    g = check.call("lstm_gates", x=kw["xs"][:, 0], h_prev=kw["h0"], c_prev=kw["c0"], **p)
    for name, v in gates.items():
        check.close(g[name], _np(v), what=f"gate {name}", expected_from="nn.LSTMCell's own gate (from its weights)")


@pytest.mark.numeric
@pytest.mark.equation("recurrent.lstm_forward")
@given(kw=_seq("lstm"))
@S.budget(1 / 3)
def test_lstm_forward_equals_a_loop_over_lstm_cell(check, kw):
    hs, cs = check.call(**kw)
    h, c, p = kw["h0"], kw["c0"], _params(kw, "lstm")
    for t in range(kw["xs"].shape[-2]):
        h, c = check.reference("lstm_cell", x=kw["xs"][..., t, :], h_prev=h, c_prev=c, **p)
        check.close(hs[..., t, :], h, what=f"hs[..., {t}, :]", expected_from="lstm_cell applied t+1 times")
        check.close(cs[..., t, :], c, what=f"cs[..., {t}, :]", expected_from="lstm_cell applied t+1 times")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.lstm_forward")
@given(kw=_seq("lstm"), batch_first=st.booleans(), data=st.data())
@S.budget(1 / 3)
def test_lstm_forward_matches_a_two_layer_torch_lstm(check, kw, batch_first, data):
    """nn.LSTM(num_layers=2): layer 0 with the drawn weights, layer 1 with its own, both mapped; hs, h_n, c_n."""
    d_x, d_h = kw["xs"].shape[-1], kw["h0"].shape[-1]
    p0 = _params(kw, "lstm")
    arr = lambda shape: data.draw(S.arrays(shape)) / 4  # noqa: E731
    p1 = {**{f"W_{g}": arr((d_h, 2 * d_h)) for g in "fico"}, **{f"b_{g}": arr((d_h,)) for g in "fico"}}
    h0_1, c0_1 = arr(kw["h0"].shape), arr(kw["c0"].shape)
    lstm = torch.nn.LSTM(d_x, d_h, num_layers=2, batch_first=batch_first).double()
    RT.load_into(lstm, p0, layer=0)
    RT.load_into(lstm, p1, layer=1)
    xs = _t(kw["xs"]) if batch_first else _t(kw["xs"]).transpose(0, 1)
    with torch.no_grad():
        out, (h_n, c_n) = lstm(xs, (torch.stack([_t(kw["h0"]), _t(h0_1)]), torch.stack([_t(kw["c0"]), _t(c0_1)])))
    out = out if batch_first else out.transpose(0, 1)
    hs0, cs0 = check.call(**kw)
    hs1, cs1 = check.call(xs=hs0, h0=h0_1, c0=c0_1, **p1)
    how = f"torch.nn.LSTM(num_layers=2, batch_first={batch_first}) with both layers mapped"
    check.close(hs1, _np(out), what="layer 2 hs", expected_from=how)
    check.close(np.stack([hs0[:, -1], hs1[:, -1]]), _np(h_n), what="h_n", expected_from=how)
    check.close(np.stack([cs0[:, -1], cs1[:, -1]]), _np(c_n), what="c_n", expected_from=how)


@pytest.mark.equation("recurrent.lstm_cell")
@given(kw=_seq("lstm", max_T=1))
@S.budget(1 / 3)
def test_lstm_mapping_round_trips_both_ways(kw):
    p = _params(kw, "lstm")
    for mod, conv in ((RN, np.asarray), (RT, _t)):
        back = mod.lstm_from_torch(**mod.lstm_to_torch(**{k: conv(v) for k, v in p.items()}))
        for k in p:
            np.testing.assert_array_equal(np.asarray(back[k]), p[k], err_msg=f"{mod.__name__}: page -> torch -> page changed {k}")
    cell = torch.nn.LSTMCell(kw["xs"].shape[-1], kw["h0"].shape[-1]).double()  # PyTorch's init: both biases non-zero
    again = RT.lstm_to_torch(**RT.params_of(cell))
    with torch.no_grad():
        np.testing.assert_array_equal(_np(again["weight_ih"]), _np(cell.weight_ih))
        np.testing.assert_array_equal(_np(again["weight_hh"]), _np(cell.weight_hh))
        np.testing.assert_allclose(_np(again["bias_ih"] + again["bias_hh"]), _np(cell.bias_ih + cell.bias_hh), rtol=0,
                                   atol=1e-15, err_msg="torch -> page -> torch must keep bias_ih + bias_hh per gate")
        x, h, c = _t(kw["xs"][:, 0]), _t(kw["h0"]), _t(kw["c0"])
        twin = RT.load_into(torch.nn.LSTMCell(cell.input_size, cell.hidden_size).double(), RT.params_of(cell))
        for a, b in zip(cell(x, (h, c)), twin(x, (h, c))):
            np.testing.assert_allclose(_np(a), _np(b), rtol=1e-12, atol=1e-14)


@pytest.mark.symbolic
@pytest.mark.equation("recurrent.lstm_cell_update")
def test_lstm_cell_update_path_derivative_is_diag_f_symbolically():
    """dc_t/dc_{t-1} of the whole step (gates from [h_{t-1}; x_t], not from c) is diag(f_t), as a SymPy identity."""
    J, diag_f = RS.lstm_cell_path_jacobian(2, 1)
    assert J == diag_f, f"dc_t/dc_(t-1) = {J} is not diag(f_t) = {diag_f}"


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.lstm_cell_update")
@given(kw=RR._lstm_cell_inputs(exact=False))
@S.budget(1 / 3)
def test_lstm_cell_path_jacobian_by_autograd_is_diag_f(check, kw):
    p = {k: _t(v) for k, v in kw.items() if k[0] in "Wb"}
    x, h = _t(kw["x"]), _t(kw["h_prev"])
    J = torch.autograd.functional.jacobian(lambda c: RT.lstm_cell(x, h, c, **p)[1], _t(kw["c_prev"]))
    f = check.call("lstm_forget_gate", x=kw["x"], h_prev=kw["h_prev"], W_f=kw["W_f"], b_f=kw["b_f"])
    check.close(np.diag(f), _np(J), what="diag(f_t)", expected_from="torch autograd dc_t/dc_{t-1} of lstm_cell")


# ====================================================================== GRU


@pytest.mark.numeric
@pytest.mark.equation("recurrent.gru_cell")
@given(data=st.data())
@S.budget(1 / 3)
def test_gru_gates_one_by_one_compose_gru_cell(check, data):
    kw = data.draw(RR._gru_cell_inputs(exact=False, batch=2))
    g = check.call("gru_gates", **kw)
    x, h = kw["x"], kw["h_prev"]
    z = check.call("gru_update_gate", x=x, h_prev=h, W_z=kw["W_z"], b_z=kw.get("b_z"))
    r = check.call("gru_reset_gate", x=x, h_prev=h, W_r=kw["W_r"], b_r=kw.get("b_r"))
    ht = check.call("gru_candidate", x=x, h_prev=h, r=r, W=kw["W"], b=kw.get("b"))
    h1 = check.call("gru_interpolate", h_prev=h, z=z, h_tilde=ht)
    check.inputs = kw
    for name, v in (("z", z), ("r", r), ("h_tilde", ht), ("h", h1)):
        check.close(g[name], v, what=f"gru_gates(...)[{name!r}]", expected_from=f"the page's {name} display on its own")
    check.close(check.call("gru_cell", **kw), h1, what="gru_cell", expected_from="the displays chained")
    # h_{t-1} as the backend received it, h~_t as it computed it; the interpolation rounds within its tolerance
    size = lambda h_prev, h_tilde: np.maximum(np.abs(h_prev), np.abs(h_tilde))  # noqa: E731
    lo, hi = (check.bound(lambda h_prev, h_tilde: f(h_prev, h_tilde), h_prev=h, h_tilde=ht, roundings=0,
                          tol=check.tol, scale=size, what=f"{f.__name__}(h_{{t-1}}, h~_t)")
              for f in (np.minimum, np.maximum))
    check.within(h1, "h_t lies between h_{t-1} and h~_t (a convex combination)", lower=lo, upper=hi)


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.gru_cell")
@given(kw=_seq("gru", max_T=1))
@S.budget(1 / 3)
def test_gru_cell_differs_from_torch_grucell_naively_and_equals_it_under_gru_to_torch(check, kw):
    """PyTorch: h = (1 - z) n + z h and n = tanh(W_in x + b_in + r (W_hn h + b_hn)). Under the naive mapping
    (z block = W_z) the cells differ; with z's weights and bias negated and a diagonal hidden block they agree."""
    p = _diagonal_hidden_block(_params(kw, "gru"))
    d_x, d_h = kw["xs"].shape[-1], kw["h0"].shape[-1]
    x, h = kw["xs"][:, 0], kw["h0"]
    got = check.call(x=x, h_prev=h, **p)
    cell = RT.load_into(torch.nn.GRUCell(d_x, d_h).double(), p)
    with torch.no_grad():
        expected = cell(_t(x), _t(h))
    check.close(got, _np(expected), expected_from="torch.nn.GRUCell with gru_to_torch's weights (z block = -W_z, -b_z)")
    # the naive mapping: the update gate's weights copied as they are
    naive = RN.gru_to_torch(**p)
    naive["weight_ih"][d_h:2 * d_h] *= -1
    naive["weight_hh"][d_h:2 * d_h] *= -1
    naive["bias_ih"][d_h:2 * d_h] *= -1
    with torch.no_grad():
        for k, v in naive.items():
            getattr(cell, k).copy_(_t(v))
        naive_out = _np(cell(_t(x), _t(h)))
    z = RN.gru_update_gate(x, h, p["W_z"], p.get("b_z"))
    h_tilde = RN.gru_gates(x, h, **p)["h_tilde"]
    # they differ exactly by (1 - 2z)(h - h~): zero only where z = 1/2 or h~ = h
    check.close(got - naive_out, (1 - 2 * z) * (h - h_tilde), what="page GRU - naive GRUCell",
                expected_from="(1 - 2z) * (h_prev - h~), the update convention's difference")


@pytest.mark.numeric
@pytest.mark.equation("recurrent.gru_candidate")
def test_gru_candidate_reset_placements_differ_for_a_non_diagonal_hidden_block(check):
    kw = {"x": np.array([0.5]), "h_prev": np.array([1.0, -1.0]), "r": np.array([0.25, 0.75]),
          "W": np.array([[1.0, 2.0, 0.5], [-1.0, 0.5, 0.25]])}
    page = check.call(**kw)
    torch_style = RR._candidate_reset_after(**kw)
    check.law(np.max(np.abs(page - torch_style)) > 0.1,
              "W [r * h; x] != r * (W_h h) + W_x x when W_h is not diagonal", got=page, expected=torch_style)
    with pytest.raises(ValueError, match="hidden block W\\[:, :d_h\\] is diagonal"):
        RN.gru_to_torch(W_z=np.zeros((2, 3)), W_r=np.zeros((2, 3)), W=kw["W"])
    with pytest.raises(ValueError, match="non-diagonal W_hn"):
        RT.params_of(torch.nn.GRUCell(1, 2).double())


@pytest.mark.symbolic
@pytest.mark.equation("recurrent.gru_update_gate")
def test_gru_update_gate_torch_convention_is_negated_weights_symbolically():
    assert RS.gru_update_convention_identity() == 0, "sigma(-a) != 1 - sigma(a)"
    z, h, ht = sp.symbols("z h htilde")
    assert sp.expand((1 - z) * h + z * ht - ((1 - (1 - z)) * ht + (1 - z) * h)) == 0


@pytest.mark.symbolic
@pytest.mark.equation("recurrent.gru_candidate")
def test_gru_candidate_reset_placements_agree_exactly_for_diagonal_hidden_blocks_symbolically():
    """W (r * h) - r * (W h) has entry i = sum_j W_ij h_j (r_j - r_i); it vanishes for all r, h iff W is diagonal."""
    diff, W, r, h = RS.gru_reset_placement_difference(3)
    for i in range(3):
        assert sp.expand(diff[i] - sum(W[i, j] * h[j] * (r[j] - r[i]) for j in range(3))) == 0
    solutions = RS.gru_reset_placement_agreement(3)
    assert solutions == [{W[i, j]: 0 for i in range(3) for j in range(3) if i != j}], solutions
    # and for a diagonal W the difference is identically zero (the scalar GRU, d_h = 1, always agrees)
    D = sp.diag(*sp.symbols("d0:3"))
    assert (D * r.multiply_elementwise(h) - r.multiply_elementwise(D * h)).expand() == sp.zeros(3, 1)


@pytest.mark.numeric
@pytest.mark.equation("recurrent.gru_forward")
@given(kw=_seq("gru"))
@S.budget(1 / 3)
def test_gru_forward_equals_a_loop_over_gru_cell(check, kw):
    hs = check.call(**kw)
    h, p = kw["h0"], _params(kw, "gru")
    for t in range(kw["xs"].shape[-2]):
        h = check.reference("gru_cell", x=kw["xs"][..., t, :], h_prev=h, **p)
        check.close(hs[..., t, :], h, what=f"hs[..., {t}, :]", expected_from="gru_cell applied t+1 times")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.gru_forward")
@given(kw=_seq("gru"), batch_first=st.booleans())
@S.budget(1 / 3)
def test_gru_forward_matches_torch_gru_and_the_mapping_round_trips(check, kw, batch_first):
    kw = _diagonal_hidden_block(kw)
    p = _params(kw, "gru")
    gru = RT.load_into(torch.nn.GRU(kw["xs"].shape[-1], kw["h0"].shape[-1], batch_first=batch_first).double(), p)
    xs = _t(kw["xs"]) if batch_first else _t(kw["xs"]).transpose(0, 1)
    with torch.no_grad():
        out, _ = gru(xs, _t(kw["h0"])[None])
    out = out if batch_first else out.transpose(0, 1)
    check.close(check.call(**kw), _np(out), expected_from=f"torch.nn.GRU(batch_first={batch_first}), gru_to_torch's weights")
    back = RT.params_of(gru)
    for k, v in p.items():
        np.testing.assert_array_equal(_np(back[k]), v, err_msg=f"page -> torch -> page changed {k}")
    for k in ("b_z", "b_r", "b"):
        if k not in p:
            np.testing.assert_array_equal(_np(back[k]), 0.0, err_msg=f"no {k} given: it must come back zero")


# ====================================================================== bidirectional


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("recurrent.bidirectional")
@given(cell=st.sampled_from(["lstm", "gru", "rnn"]), data=st.data())
@S.budget(1 / 3)
def test_bidirectional_matches_torch_bidirectional_layers(check, cell, data):
    fw = data.draw(_seq(cell), label="forward direction")
    xs = fw["xs"]
    d_x, d_h, B, T = xs.shape[-1], fw["h0"].shape[-1], xs.shape[0], xs.shape[1]
    arr = lambda shape: data.draw(S.arrays(shape)) / 4  # noqa: E731
    # the backward direction: its own parameters and initial state, of the same sizes
    bw = {k: arr(np.shape(v)) for k, v in fw.items() if k != "xs"}
    if cell == "gru":
        fw, bw = _diagonal_hidden_block(fw), _diagonal_hidden_block(bw)
    module = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}[cell](
        d_x, d_h, batch_first=True, bidirectional=True).double()
    RT.load_into(module, _params(fw, cell))
    RT.load_into(module, _params(bw, cell), reverse=True)
    state = lambda k: torch.stack([_t(fw[k]), _t(bw[k])])  # noqa: E731
    with torch.no_grad():
        out, _ = module(_t(xs), (state("h0"), state("c0")) if cell == "lstm" else state("h0"))
    run = {"lstm": RN.lstm_forward, "gru": RN.gru_forward, "rnn": RN.rnn_forward}[cell]
    init = lambda k: {"h0": k["h0"], **({"c0": k["c0"]} if cell == "lstm" else {})}  # noqa: E731
    hs_f = run(xs, **init(fw), **_params(fw, cell))
    hs_b = run(RN.reverse_time(xs), **init(bw), **_params(bw, cell))
    if cell == "lstm":
        hs_f, hs_b = hs_f[0], hs_b[0]
    got = check.call(hs_forward=hs_f, hs_backward=hs_b)
    check.close(got, _np(out), expected_from=f"torch.nn.{type(module).__name__}(bidirectional=True), both directions mapped")
    check.law(got.shape == (B, T, 2 * d_h), "output (B, T, 2 d_h): [forward h_t ; backward h_t]", got=got.shape)


@pytest.mark.numeric
@pytest.mark.equation("recurrent.bidirectional")
@given(kw=_seq("rnn", max_T=5, batch=False), t=st.integers(0, 4), data=st.data())
@S.budget(1 / 3)
def test_bidirectional_forward_half_sees_the_past_backward_half_the_future(check, kw, t, data):
    T = kw["xs"].shape[0]
    t = t % T
    p = _params(kw, "rnn")

    def layer(xs):
        return check.call(hs_forward=RN.rnn_forward(xs, kw["h0"], **p), hs_backward=RN.rnn_forward(RN.reverse_time(xs), kw["h0"], **p))

    base = layer(kw["xs"])
    d_h = kw["h0"].shape[-1]
    later, earlier = kw["xs"].copy(), kw["xs"].copy()
    later[t + 1:] += 1.0
    earlier[:t] += 1.0
    check.exactly(layer(later)[t, :d_h], base[t, :d_h], what=f"forward half at t={t} after changing x_(>t)",
                  expected_from="the forward half unchanged (left context only)")
    check.exactly(layer(earlier)[t, d_h:], base[t, d_h:], what=f"backward half at t={t} after changing x_(<t)",
                  expected_from="the backward half unchanged (right context only)")
