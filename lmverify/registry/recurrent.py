"""Registry entries of the recurrent topic (neural_language_models.md): inputs, pinned extremes, errors, mistakes.

Laws particular to one equation, the PyTorch oracles (nn.RNN/LSTM/GRU and their cells with the
weights mapped) and the symbolic proofs stay in tests/test_recurrent*.py.

The known student mistakes are the conventions a student brings from PyTorch: its LSTM gate
order i, f, g, o; its GRU update convention h = (1 - z) n + z h and reset placement r * (W_hn h);
[x; h] instead of the page's [h; x]; and the usual slips (W^T for W, a forgotten tanh).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import strategies as st

from lmverify import strategies as S
from lmverify.registry import Equation, ErrorInput, Mistake, Pinned
from reference.numpy import recurrent as R

# -- inputs --------------------------------------------------------------------------------------


def _lead(batch):
    return () if batch is None else (batch,)


def _sizes(draw, exact):
    # SymPy's expressions grow with every gate and step: keep its inputs tiny
    return draw(S.dims(2 if exact else 4)), draw(S.dims(2 if exact else 4))


@S.composite
def _gate_inputs(draw, W_name, b_name, exact=False, batch=None):
    d_h, d_x = _sizes(draw, exact)
    lead = _lead(batch)
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    return {"x": arr(lead + (d_x,)), "h_prev": arr(lead + (d_h,)), W_name: arr((d_h, d_h + d_x)), b_name: arr((d_h,))}


def _gate(W_name, b_name, optional_bias=False):
    def inputs(exact=False, batch=None):
        base = _gate_inputs(W_name, b_name, exact=exact, batch=batch)
        if optional_bias:
            return st.tuples(base, st.booleans()).map(lambda t: t[0] if t[1] else {k: v for k, v in t[0].items() if k != b_name})
        return base
    return inputs


@S.composite
def _elementwise_inputs(draw, names, exact=False, batch=None, unit=()):
    """Elementwise laws: arguments named in ``unit`` are gate values in (0, 1)."""
    d_h = draw(S.dims(3 if exact else 5))
    shape = _lead(batch) + (d_h,)
    out = {}
    for n in names:
        a = draw(S.arrays(shape, exact=exact))
        out[n] = (np.abs(a) / 4.0) % 1.0 if n in unit else a  # in [0, 1), dyadic stays dyadic
    return out


@S.composite
def _candidate_inputs(draw, exact=False, batch=None):
    d_h, d_x = _sizes(draw, exact)
    lead = _lead(batch)
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    out = {"x": arr(lead + (d_x,)), "h_prev": arr(lead + (d_h,)), "r": (np.abs(arr(lead + (d_h,))) / 4.0) % 1.0,
           "W": arr((d_h, d_h + d_x))}
    if draw(st.booleans()):
        out["b"] = arr((d_h,))
    return out


@S.composite
def _rnn_cell_inputs(draw, exact=False, batch=None):
    d_h, d_x = _sizes(draw, exact)
    lead = _lead(batch)
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    return {"x": arr(lead + (d_x,)), "h_prev": arr(lead + (d_h,)), "W_hh": arr((d_h, d_h)), "W_xh": arr((d_h, d_x)),
            "b": arr((d_h,))}


@S.composite
def _rnn_forward_inputs(draw, exact=False, batch=None):
    d_h, d_x = _sizes(draw, exact)
    T = draw(S.dims(2 if exact else 5))
    lead = _lead(batch)
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    return {"xs": arr(lead + (T, d_x)), "h0": arr(lead + (d_h,)), "W_hh": arr((d_h, d_h)) / 2, "W_xh": arr((d_h, d_x)),
            "b": arr((d_h,))}


@S.composite
def _lstm_params(draw, d_h, d_x, exact):
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    out = {f"W_{g}": arr((d_h, d_h + d_x)) for g in "fico"}
    out.update({f"b_{g}": arr((d_h,)) for g in "fico"})
    return out


@S.composite
def _lstm_cell_inputs(draw, exact=False, batch=None):
    d_h, d_x = (1, draw(S.dims(2))) if exact else _sizes(draw, exact)
    lead = _lead(batch)
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    return {"x": arr(lead + (d_x,)), "h_prev": arr(lead + (d_h,)), "c_prev": arr(lead + (d_h,)),
            **draw(_lstm_params(d_h, d_x, exact))}


@S.composite
def _lstm_forward_inputs(draw, exact=False, batch=None):
    d_h, d_x = (1, 1) if exact else _sizes(draw, exact)
    T = draw(S.dims(2 if exact else 5))
    lead = _lead(batch)
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    return {"xs": arr(lead + (T, d_x)), "h0": arr(lead + (d_h,)), "c0": arr(lead + (d_h,)),
            **draw(_lstm_params(d_h, d_x, exact))}


@S.composite
def _gru_params(draw, d_h, d_x, exact):
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    out = {"W_z": arr((d_h, d_h + d_x)), "W_r": arr((d_h, d_h + d_x)), "W": arr((d_h, d_h + d_x))}
    if draw(st.booleans()):
        out.update(b_z=arr((d_h,)), b_r=arr((d_h,)), b=arr((d_h,)))
    return out


@S.composite
def _gru_cell_inputs(draw, exact=False, batch=None):
    d_h, d_x = (draw(S.dims(2)), 1) if exact else _sizes(draw, exact)
    lead = _lead(batch)
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    return {"x": arr(lead + (d_x,)), "h_prev": arr(lead + (d_h,)), **draw(_gru_params(d_h, d_x, exact))}


@S.composite
def _gru_forward_inputs(draw, exact=False, batch=None):
    d_h, d_x = (1, 1) if exact else _sizes(draw, exact)
    T = draw(S.dims(2 if exact else 5))
    lead = _lead(batch)
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    return {"xs": arr(lead + (T, d_x)), "h0": arr(lead + (d_h,)), **draw(_gru_params(d_h, d_x, exact))}


@S.composite
def _ff_inputs(draw, exact=False, batch=None):
    ctx, d_e, d_h, V = draw(S.dims(3)), draw(S.dims(2)), draw(S.dims(2 if exact else 4)), draw(S.dims(3 if exact else 6))
    arr = lambda shape: draw(S.arrays(shape, exact=exact))  # noqa: E731
    return {"es": arr(_lead(batch) + (ctx, d_e)), "W": arr((d_h, ctx * d_e)), "b": arr((d_h,)), "U": arr((V, d_h)),
            "d": arr((V,))}


@S.composite
def _loss_inputs(draw, exact=False, batch=None):
    T, V = draw(S.dims(4)), draw(st.integers(2, 5))
    logits = draw(S.arrays(_lead(batch) + (T, V), exact=exact))
    targets = draw(S.arrays(_lead(batch) + (T,), exact=True)).astype(np.int64) % V
    out = {"logits": logits, "targets": targets}
    if draw(st.booleans()):
        out["ignore_index"] = int(targets.reshape(-1)[0])  # some positions padded, never all of them...
        if np.all(targets == out["ignore_index"]):
            del out["ignore_index"]
    return out


@S.composite
def _probs_inputs(draw, exact=False, batch=None):
    d_h, V = draw(S.dims(3)), draw(S.dims(4))
    return {"h": draw(S.arrays(_lead(batch) + (d_h,), exact=exact)), "W_hy": draw(S.arrays((V, d_h), exact=exact))}


@S.composite
def _hs_inputs(draw, exact=False, batch=None):
    d_h, T = draw(S.dims(2 if exact else 4)), draw(S.dims(2 if exact else 6))
    # states of a tanh RNN, |h| <= 0.9: 1 - h^2 has condition number 2h^2 / (1 - h^2) <= 8.5 there (a float32
    # input h = 0.995 alone moves 1 - h^2 by 1e-5 relative, before any arithmetic)
    hs = 0.9 * np.tanh(draw(S.arrays(_lead(batch) + (T, d_h), exact=exact))) if not exact else \
        draw(S.arrays(_lead(batch) + (T, d_h), exact=True)) / 4.0  # |h| < 1, dyadic
    return {"hs": hs, "W_hh": draw(S.arrays((d_h, d_h), exact=exact))}


@S.composite
def _step_jacobian_inputs(draw, exact=False, batch=None):
    d_h = draw(S.dims(3))
    return {"h": draw(S.arrays(_lead(batch) + (d_h,), exact=exact)) / 10.0, "W_hh": draw(S.arrays((d_h, d_h), exact=exact))}


@S.composite
def _bound_inputs(draw, exact=False, batch=None):
    if exact:  # the exact spectral norm needs eigenvalues of W^T W: 1 x 1 stays rational
        hs = draw(S.arrays(_lead(batch) + (draw(S.dims(3)), 1), exact=True)) / 4.0
        return {"hs": hs, "W_hh": draw(S.arrays((1, 1), exact=True))}
    return draw(_hs_inputs(exact=False, batch=batch))


def _decay_inputs(exact=False):
    return st.fixed_dictionaries({"factor": st.sampled_from([0.5, 0.875, 0.9, 1.0, 1.125, 2.0, -0.5]),
                                  "steps": st.integers(0, 60)})


@S.composite
def _bidirectional_inputs(draw, exact=False, batch=None):
    T, d_f, d_b = draw(S.dims(4)), draw(S.dims(3)), draw(S.dims(3))
    lead = _lead(batch)
    return {"hs_forward": draw(S.arrays(lead + (T, d_f), exact=exact)),
            "hs_backward": draw(S.arrays(lead + (T, d_b), exact=exact))}


# -- pinned inputs --------------------------------------------------------------------------------

_RNG = np.random.default_rng(20260)


def _dyadic(shape):
    return _RNG.integers(-16, 17, size=shape) / 8.0


#: the page's `cat` step (scalar sizes): zero weights, so each gate's pre-activation is its bias,
#: set to the page's z_f = 0, z_i = 1, z_c = 0.5, z_o = 0.5 (worked_examples/recurrent/lstm_cat_step.yaml)
PAGE_CAT = {"x": np.array([1.2]), "h_prev": np.array([0.5]), "c_prev": np.array([0.8]),
            "W_f": np.zeros((1, 2)), "W_i": np.zeros((1, 2)), "W_c": np.zeros((1, 2)), "W_o": np.zeros((1, 2)),
            "b_f": np.array([0.0]), "b_i": np.array([1.0]), "b_c": np.array([0.5]), "b_o": np.array([0.5])}

#: a general step: d_h = 2, d_x = 3, every weight non-zero and no two gates alike
LSTM_GENERAL = {"x": _dyadic(3), "h_prev": _dyadic(2), "c_prev": _dyadic(2),
                **{f"W_{g}": _dyadic((2, 5)) for g in "fico"}, **{f"b_{g}": _dyadic(2) for g in "fico"}}

#: pre-activations of +-1e3: a naive exp(-z) overflows, the gates must saturate to exactly 0 / 1
LSTM_SATURATED = {"x": np.array([1e3]), "h_prev": np.array([0.0, 0.0]), "c_prev": np.array([2.0, -3.0]),
                  "W_f": np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]), "W_i": np.array([[0.0, 0.0, -1.0], [0.0, 0.0, 1.0]]),
                  "W_c": np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]), "W_o": np.array([[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]),
                  **{f"b_{g}": np.zeros(2) for g in "fico"}}

GRU_GENERAL = {"x": _dyadic(3), "h_prev": _dyadic(2), "W_z": _dyadic((2, 5)), "W_r": _dyadic((2, 5)),
               "W": _dyadic((2, 5)), "b_z": _dyadic(2), "b_r": _dyadic(2), "b": _dyadic(2)}
GRU_NO_BIAS = {k: v for k, v in GRU_GENERAL.items() if not k.startswith("b")}

RNN_GENERAL = {"x": _dyadic(2), "h_prev": _dyadic(2), "W_hh": _dyadic((2, 2)), "W_xh": _dyadic((2, 2)), "b": _dyadic(2)}


def _pick(d, *names):
    return {k: d[k] for k in names}


# -- known student mistakes (NumPy, same parameters) ------------------------------------------------


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def _lstm_torch_gate_order(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    # the arguments read in PyTorch's order i, f, g, o: forget and input exchanged
    return R.lstm_cell(x, h_prev, c_prev, W_i, W_f, W_c, W_o, b_i, b_f, b_c, b_o)


def _lstm_xh(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    xh = np.concatenate([x, h_prev], axis=-1)
    g = [xh @ W.T + b for W, b in ((W_f, b_f), (W_i, b_i), (W_c, b_c), (W_o, b_o))]
    c = _sig(g[0]) * c_prev + _sig(g[1]) * np.tanh(g[2])
    return _sig(g[3]) * np.tanh(c), c


def _lstm_c_h(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    h, c = R.lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
    return c, h


def _lstm_no_tanh_on_c(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    g = R.lstm_gates(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
    return g["o"] * g["c"], g["c"]


def _lstm_sigmoid_candidate(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    g = R.lstm_gates(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
    c = g["f"] * c_prev + g["i"] * _sig(g["z_c"])
    return g["o"] * np.tanh(c), c


def _gate_xh(act):
    def wrong(x, h_prev, W, b=None):
        z = np.concatenate([x, h_prev], axis=-1) @ np.asarray(W).T + (0.0 if b is None else b)
        return act(z)
    return wrong


def _forget_xh(x, h_prev, W_f, b_f):
    return _gate_xh(_sig)(x, h_prev, W_f, b_f)


def _candidate_sigmoid(x, h_prev, W_c, b_c):
    return _sig(R.concat_hx(h_prev, x) @ W_c.T + b_c)


def _cell_update_f_i_exchanged(f, c_prev, i, c_tilde):
    return np.asarray(i) * c_prev + np.asarray(f) * c_tilde


def _hidden_no_tanh(o, c):
    return o * c


def _gru_torch_update(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    g = R.gru_gates(x, h_prev, W_z, W_r, W, b_z, b_r, b)
    return g["z"] * h_prev + (1 - g["z"]) * g["h_tilde"]


def _gru_reset_after(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None, torch_update=False):
    g = R.gru_gates(x, h_prev, W_z, W_r, W, b_z, b_r, b)
    d_h = np.shape(h_prev)[-1]
    W = np.asarray(W)
    n = np.tanh(g["r"] * (h_prev @ W[:, :d_h].T) + x @ W[:, d_h:].T + (0.0 if b is None else b))
    return g["z"] * h_prev + (1 - g["z"]) * n if torch_update else (1 - g["z"]) * h_prev + g["z"] * n


def _gru_both_torch(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    return _gru_reset_after(x, h_prev, W_z, W_r, W, b_z, b_r, b, torch_update=True)


def _gru_xh(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    bz, br, bb = (0.0 if v is None else v for v in (b_z, b_r, b))
    xh = np.concatenate([x, h_prev], axis=-1)
    z, r = _sig(xh @ np.asarray(W_z).T + bz), _sig(xh @ np.asarray(W_r).T + br)
    ht = np.tanh(np.concatenate([x, r * h_prev], axis=-1) @ np.asarray(W).T + bb)
    return (1 - z) * h_prev + z * ht


def _candidate_reset_after(x, h_prev, r, W, b=None):
    d_h = np.shape(h_prev)[-1]
    W = np.asarray(W)
    return np.tanh(r * (h_prev @ W[:, :d_h].T) + x @ W[:, d_h:].T + (0.0 if b is None else b))


def _interpolate_torch(h_prev, z, h_tilde):
    return z * h_prev + (1 - z) * h_tilde


def _rnn_swapped(x, h_prev, W_hh, W_xh, b):
    return np.tanh(h_prev @ W_xh.T + x @ W_hh.T + b)


def _rnn_transposed(x, h_prev, W_hh, W_xh, b):
    return np.tanh(h_prev @ W_hh + x @ W_xh + b)


def _rnn_no_tanh(x, h_prev, W_hh, W_xh, b):
    return h_prev @ W_hh.T + x @ W_xh.T + b


def _loss_sum(logits, targets, ignore_index=None):
    n = np.sum(np.asarray(targets) != ignore_index) if ignore_index is not None else np.size(targets)
    return R.sequence_loss(logits, targets, ignore_index) * n


def _loss_padding_counted(logits, targets, ignore_index=None):
    if ignore_index is None:
        return R.sequence_loss(logits, targets)
    n_kept = np.sum(np.asarray(targets) != ignore_index)
    return R.sequence_loss(logits, targets, ignore_index) * n_kept / np.size(targets)


TORCH_GATE_ORDER = ("PyTorch's LSTM gate order i, f, g, o (the suite passes the page's order: W_f, W_i, W_c, W_o "
                    "= forget, input, candidate, output; f multiplies c_prev, i multiplies the candidate)")
XH_ORDER = ("the concatenation [x_t; h_{t-1}] (every W here acts on the page's [h_{t-1}; x_t]: hidden state first, "
            "W[:, :d_h] multiplies h_prev and W[:, d_h:] multiplies x)")
TORCH_GRU_UPDATE = ("PyTorch's nn.GRU convention h = (1 - z) * h_tilde + z * h_prev (the suite expects the page's "
                    "h = (1 - z) * h_prev + z * h_tilde: z = 1 takes the candidate)")
TORCH_GRU_RESET = ("PyTorch's reset placement r * (W_h h_prev) (the page applies the reset BEFORE the product: "
                   "h_tilde = tanh(W [r * h_prev; x]))")

# -- errors ------------------------------------------------------------------------------------------

_BAD_LSTM = dict(LSTM_GENERAL, W_i=np.zeros((2, 4)))
_BAD_GRU = dict(GRU_NO_BIAS, W_r=np.zeros((3, 5)))


# -- float32 conditioning: first-order bounds on the rounding error, in units of u = 2^-24 -------------
# (lmverify/tolerance.py explains the rules: a sum of n products carries (n + 2) sum |terms|, tanh and
# sigmoid pass an argument error with slope <= 1 and add 2, a product adds each factor's relative error.)


def _a(x):
    return np.abs(np.asarray(x, dtype=np.float64))


def _affine(inp, W, b=None):
    """Error bound of inp @ W.T + b per output cell: (n + 2) (|inp| |W|^T + |b|), n = inputs + 1."""
    inp, W = _a(inp), _a(W)
    n = W.shape[-1] + 1
    return (n + 2) * (inp @ W.T + (0.0 if b is None else _a(b)))


def _hx(h_prev, x):
    h_prev, x = _a(h_prev), _a(x)
    lead = np.broadcast_shapes(h_prev.shape[:-1], x.shape[:-1])
    return np.concatenate([np.broadcast_to(h_prev, lead + h_prev.shape[-1:]), np.broadcast_to(x, lead + x.shape[-1:])], -1)


def _kappa_rnn_cell(x, h_prev, W_hh, W_xh, b):
    return float(np.max(_affine(_hx(h_prev, x), np.concatenate([_a(W_hh), _a(W_xh)], axis=1), b) + 2))


def _kappa_lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    hx = _hx(h_prev, x)
    g = R.lstm_gates(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
    d = {k: _affine(hx, W, bb) + 2 for k, W, bb in (("f", W_f, b_f), ("i", W_i, b_i), ("c_tilde", W_c, b_c),
                                                     ("o", W_o, b_o))}
    dc = _a(c_prev) * (d["f"] + 2) + _a(g["c_tilde"]) * d["i"] + _a(g["i"]) * d["c_tilde"] + 3 * np.maximum(_a(g["c"]), 1)
    dh = _a(g["tanh_c"]) * d["o"] + _a(g["o"]) * (dc + 2) + 3
    return float(max(np.max(dc), np.max(dh)))


def _kappa_gru_cell(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    hx = _hx(h_prev, x)
    g = R.gru_gates(x, h_prev, W_z, W_r, W, b_z, b_r, b)
    d_h = np.shape(h_prev)[-1]
    dz, dr = _affine(hx, W_z, b_z) + 2, _affine(hx, W_r, b_r) + 2
    rh = _a(g["r"]) * _a(h_prev)
    drh = _a(h_prev) * dr + 2 * rh
    dzh = _affine(_hx(rh, x), W, b) + drh @ _a(W)[:, :d_h].T
    dht = dzh + 2
    scale = _a(h_prev) + _a(g["h_tilde"])
    return float(np.max(dz * scale + _a(g["z"]) * dht + 3 * (scale + 1)))


def _kappa_feedforward(es, W, b, U, d):
    es = _a(es)
    ctx = es.reshape(es.shape[:-2] + (es.shape[-2] * es.shape[-1],))
    dh = _affine(ctx, W, b) + 2
    h = np.tanh(ctx @ np.asarray(W, dtype=np.float64).T)  # |h| <= 1 in any case
    dl = _affine(np.abs(h), U, d) + dh @ _a(U).T
    return float(2 * np.max(dl) + np.shape(U)[0] + 2)


def _kappa_sequence_loss(logits, targets, ignore_index=None):
    z = _a(logits)
    V, T = z.shape[-1], max(1, int(np.prod(z.shape[:-1])))
    per_position = 4 * np.max(z, axis=-1) + V + 4  # z_target and logsumexp: each ~ 2 max|z| + (V + 2)
    return float(np.max(per_position) + (T + 2) * abs(float(R.sequence_loss(logits, targets, ignore_index))))


def _kappa_bptt_product(hs, W_hh):
    """J_t = diag(1 - h_t^2) W carries |W| (2 h_t^2 + 3) per entry (h and W converted, squared, subtracted,
    multiplied); P_t = J_t P_{t-1} carries |J_t| E_{t-1} + dJ_t |P|_{t-1} + (d + 2) |J_t| |P|_{t-1}."""
    hs, W = _a(hs), _a(W_hh)
    flat = hs.reshape(-1, hs.shape[-2], hs.shape[-1])
    d = W.shape[0]
    worst = 0.0
    for seq in flat:
        E = A = None
        for h in seq:
            absJ = (1 - h**2)[:, None] * W
            dJ = (2 * h**2 + 3)[:, None] * W
            if A is None:
                E, A = dJ, absJ
            else:
                E = absJ @ E + dJ @ A + (d + 2) * (absJ @ A)
                A = absJ @ A
        worst = max(worst, float(np.max(E)))
    return worst


def _kappa_next_token(h, W_hy):
    return float(2 * np.max(_affine(h, W_hy)) + np.shape(W_hy)[0] + 2)

# -- entries -------------------------------------------------------------------------------------------

_ALL = (
    Equation(
        "recurrent.feedforward_lm",
        kappa=_kappa_feedforward,
        inputs=_ff_inputs,
        batch_args=("es",),
        pinned=(Pinned("two one-hot context embeddings (the page's e_1, e_2)",
                       {"es": np.array([[1.0, 0.0], [0.0, 1.0]]), "W": _dyadic((2, 4)), "b": _dyadic(2),
                        "U": _dyadic((3, 2)), "d": _dyadic(3)}),
                Pinned("logits of +-1e3 (no overflow)", {"es": np.array([[1.0]]), "W": np.array([[1.0]]), "b": np.zeros(1),
                                                         "U": np.array([[1e3], [-1e3], [0.0]]), "d": np.zeros(3)})),
        errors=(ErrorInput("W of the wrong width", {"es": np.ones((2, 3)), "W": np.ones((2, 5)), "b": np.zeros(2),
                                                    "U": np.ones((3, 2)), "d": np.zeros(3)}, ValueError,
                           r"W must have shape \(d_h, \(n-1\)\*d_e\)"),),
    ),
    Equation(
        "recurrent.sequence_loss",
        kappa=_kappa_sequence_loss,
        inputs=_loss_inputs,
        pinned=(Pinned("logits of +-1e4 (log-sum-exp, no overflow)",
                       {"logits": np.array([[1e4, -1e4, 0.0], [0.0, 1e4, 1e4]]), "targets": np.array([1, 2])}),
                Pinned("padding ignored (ignore_index = 0)",
                       {"logits": _dyadic((4, 3)), "targets": np.array([2, 0, 1, 0]), "ignore_index": 0})),
        errors=(ErrorInput("targets of the wrong shape", {"logits": np.zeros((3, 4)), "targets": np.array([0, 1])},
                           ValueError, r"targets must have shape logits.shape\[:-1\]"),),
        mistakes=(Mistake("sum instead of mean", "summing -log P over the positions without dividing by T", _loss_sum),
                  Mistake("padding counted in T", "dividing by every position, padding included (F.cross_entropy's "
                          "ignore_index leaves padded positions out of T)", _loss_padding_counted)),
        grad=("logits",),
        grad_at={"logits": [[0.5, -1.0, 0.25], [1.0, 0.0, -0.5]], "targets": np.array([2, 0])},
    ),
    Equation(
        "recurrent.rnn_cell",
        kappa=_kappa_rnn_cell,
        inputs=_rnn_cell_inputs,
        batch_args=("x", "h_prev"),
        pinned=(Pinned("d_h = d_x = 2, every weight non-zero", RNN_GENERAL),
                Pinned("saturated tanh (pre-activations of +-1e3)",
                       {"x": np.array([1e3]), "h_prev": np.array([0.0, 0.0]), "W_hh": np.eye(2),
                        "W_xh": np.array([[1.0], [-1.0]]), "b": np.zeros(2)})),
        errors=(ErrorInput("W_xh of the wrong shape", dict(RNN_GENERAL, W_xh=np.zeros((2, 3))), ValueError,
                           r"W_xh must have shape \(d_h, d_x\)"),),
        mistakes=(Mistake("W_hh and W_xh exchanged", "applying W_xh to h_{t-1} and W_hh to x_t", _rnn_swapped),
                  Mistake("W^T instead of W", "h_prev @ W_hh (that is W_hh^T h; the page's W_hh h is h_prev @ W_hh.T on rows)",
                          _rnn_transposed),
                  Mistake("no tanh", "leaving out the tanh", _rnn_no_tanh)),
        grad=("x", "h_prev", "W_hh"),
        grad_at={"x": [0.5], "h_prev": [0.25, -0.5], "W_hh": [[0.5, -0.25], [0.75, 0.5]], "W_xh": [[1.0], [-0.5]],
                 "b": [0.125, 0.0]},
    ),
    Equation(
        "recurrent.rnn_forward",
        inputs=_rnn_forward_inputs,
        batch_args=("xs", "h0"),
        pinned=(Pinned("T = 3, d_h = d_x = 2", {"xs": _dyadic((3, 2)), "h0": _dyadic(2), "W_hh": _dyadic((2, 2)),
                                                "W_xh": _dyadic((2, 2)), "b": _dyadic(2)}),),
        errors=(ErrorInput("no time steps", {"xs": np.zeros((0, 2)), "h0": np.zeros(2), "W_hh": np.eye(2),
                                             "W_xh": np.eye(2), "b": np.zeros(2)}, ValueError, r"no time steps"),),
    ),
    Equation(
        "recurrent.rnn_next_token_probs",
        kappa=_kappa_next_token,
        inputs=_probs_inputs,
        batch_args=("h",),
        pinned=(Pinned("logits of +-1e4", {"h": np.array([1.0]), "W_hy": np.array([[1e4], [-1e4], [1e4 - 1]])}),),
    ),
    Equation(
        "recurrent.bptt_step_jacobian",
        inputs=_step_jacobian_inputs,
        batch_args=("h",),
        pinned=(Pinned("d_h = 2", {"h": np.array([0.5, -0.875]), "W_hh": _dyadic((2, 2))}),),
        grad=("h",),
        grad_at={"h": [0.5, -0.25], "W_hh": [[1.0, 0.5], [-0.5, 2.0]]},
    ),
    Equation(
        "recurrent.bptt_jacobian_product",
        kappa=_kappa_bptt_product,
        inputs=_hs_inputs,
        batch_args=("hs",),
        pinned=(Pinned("T = 4, d_h = 2", {"hs": 0.9 * np.tanh(_dyadic((4, 2))), "W_hh": _dyadic((2, 2))}, exact=False),),
        # float32: observed 1.8e-6 relative (6 steps, h = 0.8955, W_hh = 5 * ones) where the default allows 1.3e-6:
        # each 1 - h^2 carries the rounding of h amplified by 2h^2 / (1 - h^2), the product of T factors adds the
        # errors up, and mixed-sign products cancel; _kappa_bptt_product bounds all of it to first order.
    ),
    Equation(
        "recurrent.bptt_gradient_bound",
        inputs=_bound_inputs,
        batch_args=("hs",),
        pinned=(Pinned("d_h = 1, T = 3 (exact spectral norm)", {"hs": np.array([[0.5], [-0.25], [0.75]]),
                                                                "W_hh": np.array([[1.5]])}),
                Pinned("d_h = 2, T = 4", {"hs": 0.9 * np.tanh(_dyadic((4, 2))), "W_hh": _dyadic((2, 2))}, exact=False)),
    ),
    Equation(
        "recurrent.bptt_decay",
        inputs=_decay_inputs,
        pinned=(Pinned("0.9^100 (the page's number)", {"factor": 0.9, "steps": 100}),
                Pinned("0.9^50 (the page's worked example)", {"factor": 0.9, "steps": 50}),
                Pinned("1.1^100 (explodes)", {"factor": 1.1, "steps": 100})),
        errors=(ErrorInput("negative steps", {"factor": 0.9, "steps": -1}, ValueError, r"steps must be >= 0"),),
    ),
    Equation("recurrent.bptt_decay_log", inputs=_decay_inputs,
             pinned=(Pinned("0.9^50 (the page's worked example)", {"factor": 0.9, "steps": 50}),)),
    Equation(
        "recurrent.lstm_forget_gate",
        inputs=_gate("W_f", "b_f"),
        batch_args=("x", "h_prev"),
        pinned=(Pinned("the page's cat step (z_f = 0)", _pick(PAGE_CAT, "x", "h_prev", "W_f", "b_f")),
                Pinned("d_h = 2, d_x = 3", _pick(LSTM_GENERAL, "x", "h_prev", "W_f", "b_f")),
                Pinned("pre-activations of +-1e3 (saturates, no overflow)", _pick(LSTM_SATURATED, "x", "h_prev", "W_f", "b_f"))),
        errors=(ErrorInput("W_f acting on x alone", dict(_pick(LSTM_GENERAL, "x", "h_prev", "b_f"), W_f=np.zeros((2, 3))),
                           ValueError, r"W_f must have shape \(d_h, d_h \+ d_x\)"),),
        mistakes=(Mistake("[x; h]", XH_ORDER, _forget_xh),),
        grad=("x", "h_prev", "W_f"),
        grad_at={"x": [0.5], "h_prev": [0.25, -0.5], "W_f": [[0.5, -0.25, 1.0], [0.75, 0.5, -1.0]], "b_f": [0.125, 0.0]},
    ),
    Equation(
        "recurrent.lstm_input_gate",
        inputs=_gate("W_i", "b_i"),
        batch_args=("x", "h_prev"),
        pinned=(Pinned("the page's cat step (z_i = 1)", _pick(PAGE_CAT, "x", "h_prev", "W_i", "b_i")),
                Pinned("d_h = 2, d_x = 3", _pick(LSTM_GENERAL, "x", "h_prev", "W_i", "b_i"))),
    ),
    Equation(
        "recurrent.lstm_candidate",
        inputs=_gate("W_c", "b_c"),
        batch_args=("x", "h_prev"),
        pinned=(Pinned("the page's cat step (z_c = 0.5)", _pick(PAGE_CAT, "x", "h_prev", "W_c", "b_c")),
                Pinned("d_h = 2, d_x = 3", _pick(LSTM_GENERAL, "x", "h_prev", "W_c", "b_c"))),
        mistakes=(Mistake("sigmoid candidate", "a sigmoid for the candidate (the page's c_tilde uses tanh, in (-1, 1))",
                          _candidate_sigmoid),),
    ),
    Equation(
        "recurrent.lstm_cell_update",
        inputs=lambda exact=False, batch=None: _elementwise_inputs(("f", "c_prev", "i", "c_tilde"), exact=exact,
                                                                   batch=batch, unit=("f", "i")),
        batch_args=("f", "c_prev", "i", "c_tilde"),
        pinned=(Pinned("the page's cat step", {"f": np.array([0.5]), "c_prev": np.array([0.8]), "i": np.array([0.731]),
                                               "c_tilde": np.array([0.462])}),),
        mistakes=(Mistake("f and i exchanged", "i * c_prev + f * c_tilde (the forget gate f keeps the old cell c_prev; "
                          "the input gate i admits the candidate)", _cell_update_f_i_exchanged),),
        grad=("f", "c_prev", "i", "c_tilde"),
        grad_at={"f": [0.5, 0.25], "c_prev": [0.8, -1.0], "i": [0.75, 0.125], "c_tilde": [0.5, -0.25]},
    ),
    Equation(
        "recurrent.lstm_output_gate",
        inputs=_gate("W_o", "b_o"),
        batch_args=("x", "h_prev"),
        pinned=(Pinned("the page's cat step (z_o = 0.5)", _pick(PAGE_CAT, "x", "h_prev", "W_o", "b_o")),
                Pinned("d_h = 2, d_x = 3", _pick(LSTM_GENERAL, "x", "h_prev", "W_o", "b_o"))),
    ),
    Equation(
        "recurrent.lstm_hidden",
        inputs=lambda exact=False, batch=None: _elementwise_inputs(("o", "c"), exact=exact, batch=batch, unit=("o",)),
        batch_args=("o", "c"),
        pinned=(Pinned("the page's cat step (o = sigma(0.5), c = 0.738)", {"o": np.array([0.6224593312018546]),
                                                                           "c": np.array([0.738])}),),
        mistakes=(Mistake("no tanh", "o * c without the tanh (the page's h_t = o_t * tanh(c_t))", _hidden_no_tanh),),
    ),
    Equation(
        "recurrent.lstm_cell",
        kappa=_kappa_lstm_cell,
        inputs=_lstm_cell_inputs,
        batch_args=("x", "h_prev", "c_prev"),
        pinned=(Pinned("the page's cat step (biases give the page's pre-activations)", PAGE_CAT),
                Pinned("d_h = 2, d_x = 3, every weight non-zero", LSTM_GENERAL),
                Pinned("pre-activations of +-1e3 (gates saturate to 0 / 1, no overflow)", LSTM_SATURATED)),
        errors=(ErrorInput("W_i of the wrong width", _BAD_LSTM, ValueError, r"W_i must have shape \(d_h, d_h \+ d_x\)"),
                ErrorInput("c_prev of the wrong size", dict(LSTM_GENERAL, c_prev=np.zeros(3)), ValueError,
                           r"c_prev must have d_h = 2 features")),
        mistakes=(Mistake("PyTorch gate order", TORCH_GATE_ORDER, _lstm_torch_gate_order),
                  Mistake("[x; h]", XH_ORDER, _lstm_xh),
                  Mistake("(c, h) returned", "returning (c_t, h_t); lstm_cell returns (h_t, c_t) as nn.LSTMCell does",
                          _lstm_c_h),
                  Mistake("no tanh on c", "h = o * c without the tanh (the page's h_t = o_t * tanh(c_t))",
                          _lstm_no_tanh_on_c),
                  Mistake("sigmoid candidate", "a sigmoid for the candidate c_tilde (the page uses tanh)",
                          _lstm_sigmoid_candidate)),
        grad=("x", "h_prev", "c_prev"),
        grad_at={"x": [0.5], "h_prev": [0.25], "c_prev": [-0.5], "W_f": [[0.5, -0.25]], "W_i": [[0.75, 0.5]],
                 "W_c": [[-1.0, 0.25]], "W_o": [[0.5, 0.5]], "b_f": [0.125], "b_i": [0.0], "b_c": [-0.25], "b_o": [0.5]},
    ),
    Equation(
        "recurrent.lstm_forward",
        inputs=_lstm_forward_inputs,
        batch_args=("xs", "h0", "c0"),
        pinned=(Pinned("T = 2, d_h = d_x = 1", {"xs": _dyadic((2, 1)), "h0": _dyadic(1), "c0": _dyadic(1),
                                                **{f"W_{g}": _dyadic((1, 2)) for g in "fico"},
                                                **{f"b_{g}": _dyadic(1) for g in "fico"}}),),
        errors=(ErrorInput("no time steps", {"xs": np.zeros((0, 3)), "h0": np.zeros(2), "c0": np.zeros(2),
                                             **{k: v for k, v in LSTM_GENERAL.items() if k[0] in "Wb"}},
                           ValueError, r"no time steps"),),
    ),
    Equation(
        "recurrent.gru_update_gate",
        inputs=_gate("W_z", "b_z", optional_bias=True),
        batch_args=("x", "h_prev"),
        pinned=(Pinned("d_h = 2, d_x = 3, no bias", _pick(GRU_NO_BIAS, "x", "h_prev", "W_z")),),
    ),
    Equation(
        "recurrent.gru_reset_gate",
        inputs=_gate("W_r", "b_r", optional_bias=True),
        batch_args=("x", "h_prev"),
        pinned=(Pinned("d_h = 2, d_x = 3, with bias", _pick(GRU_GENERAL, "x", "h_prev", "W_r", "b_r")),),
    ),
    Equation(
        "recurrent.gru_candidate",
        inputs=_candidate_inputs,
        batch_args=("x", "h_prev", "r"),
        pinned=(Pinned("d_h = 2, d_x = 3, a non-diagonal hidden block",
                       {"x": GRU_GENERAL["x"], "h_prev": GRU_GENERAL["h_prev"], "r": np.array([0.25, 0.875]),
                        "W": GRU_GENERAL["W"]}),),
        mistakes=(Mistake("reset after the product", TORCH_GRU_RESET, _candidate_reset_after),),
        grad=("h_prev", "r"),
        grad_at={"x": [0.5], "h_prev": [0.25, -0.5], "r": [0.5, 0.75], "W": [[0.5, -0.25, 1.0], [0.75, 0.5, -1.0]]},
    ),
    Equation(
        "recurrent.gru_interpolate",
        inputs=lambda exact=False, batch=None: _elementwise_inputs(("h_prev", "z", "h_tilde"), exact=exact, batch=batch,
                                                                   unit=("z",)),
        batch_args=("h_prev", "z", "h_tilde"),
        pinned=(Pinned("the page's scalar GRU step", {"h_prev": np.array([0.4]), "z": np.array([0.3]),
                                                      "h_tilde": np.array([0.9])}),),
        mistakes=(Mistake("PyTorch's update convention", TORCH_GRU_UPDATE, _interpolate_torch),),
    ),
    Equation(
        "recurrent.gru_cell",
        kappa=_kappa_gru_cell,
        inputs=_gru_cell_inputs,
        batch_args=("x", "h_prev"),
        pinned=(Pinned("d_h = 2, d_x = 3, with biases", GRU_GENERAL),
                Pinned("d_h = 2, d_x = 3, no biases (as printed)", GRU_NO_BIAS)),
        errors=(ErrorInput("W_r of the wrong shape", _BAD_GRU, ValueError, r"W_r must have shape \(d_h, d_h \+ d_x\)"),),
        mistakes=(Mistake("PyTorch's GRU (both conventions)", "PyTorch's nn.GRU: h = (1 - z) * n + z * h_prev with the "
                          "reset after the hidden product, r * (W_h h_prev) (the page: h = (1 - z) * h_prev + z * h_tilde, "
                          "h_tilde = tanh(W [r * h_prev; x]))", _gru_both_torch, compound=True),
                  Mistake("PyTorch's update convention", TORCH_GRU_UPDATE, _gru_torch_update),
                  Mistake("reset after the product", TORCH_GRU_RESET, _gru_reset_after),
                  Mistake("[x; h]", XH_ORDER, _gru_xh)),
        grad=("x", "h_prev"),
        grad_at={"x": [0.5], "h_prev": [0.25, -0.5], "W_z": [[0.5, -0.25, 1.0], [0.75, 0.5, -1.0]],
                 "W_r": [[0.25, 0.5, -0.5], [-0.75, 0.25, 0.5]], "W": [[1.0, 0.5, -0.25], [0.25, -0.5, 0.75]]},
    ),
    Equation(
        "recurrent.gru_forward",
        inputs=_gru_forward_inputs,
        batch_args=("xs", "h0"),
        pinned=(Pinned("T = 2, d_h = 2, d_x = 1, with biases",
                       {"xs": _dyadic((2, 1)), "h0": _dyadic(2), "W_z": _dyadic((2, 3)), "W_r": _dyadic((2, 3)),
                        "W": _dyadic((2, 3)), "b_z": _dyadic(2), "b_r": _dyadic(2), "b": _dyadic(2)}),),
    ),
    Equation(
        "recurrent.bidirectional",
        inputs=_bidirectional_inputs,
        batch_args=("hs_forward", "hs_backward"),
        pinned=(Pinned("T = 3", {"hs_forward": _dyadic((3, 2)), "hs_backward": _dyadic((3, 1))}),),
        errors=(ErrorInput("different lengths", {"hs_forward": np.zeros((3, 2)), "hs_backward": np.zeros((2, 2))},
                           ValueError, r"must agree on every axis but the last"),),
    ),
)

#: Entries checked on their pinned inputs only (SymPy exact on every backend, errors, mistakes, gradients),
#: not on drawn inputs: each is a single display that a composite entry (lstm_cell, gru_cell, rnn_cell)
#: exercises on drawn inputs, and the unrolled forms are "a loop over the cell" (a hand-written test in
#: tests/test_recurrent.py checks that on drawn inputs, with batches). This keeps the topic's generic
#: tests within the suite's time budget (SymPy's expressions grow with every gate and time step).
PINNED_ONLY = frozenset({
    "recurrent.rnn_forward", "recurrent.lstm_forward", "recurrent.gru_forward", "recurrent.rnn_next_token_probs",
    "recurrent.bptt_step_jacobian", "recurrent.bptt_gradient_bound", "recurrent.bptt_decay_log",
    "recurrent.lstm_forget_gate", "recurrent.lstm_input_gate", "recurrent.lstm_candidate", "recurrent.lstm_output_gate",
    "recurrent.lstm_cell_update", "recurrent.lstm_hidden",
    "recurrent.gru_update_gate", "recurrent.gru_reset_gate", "recurrent.gru_candidate", "recurrent.gru_interpolate",
})

EQUATIONS = tuple(dataclasses.replace(e, inputs=None, batch_args=()) if e.id in PINNED_ONLY else e for e in _ALL)
