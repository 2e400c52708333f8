"""Recurrent language models, SymPy symbolic forms (course page: neural_language_models.md).

The same functions and parameters as reference/numpy/recurrent.py, exact on rational inputs
(SymPy matrices / arrays; a leading batch axis is looped over), plus the derivations the page
states and the suite proves:

* :func:`bptt_step_jacobian_symbolic`: d tanh(W_hh h + W_xh x + b) / dh = diag(1 - h_t^2) W_hh;
* :func:`lstm_cell_path_jacobian`: dc_t / dc_{t-1} = diag(f_t) with h_{t-1}, x_t held fixed;
* :func:`gru_update_convention_identity`: sigma(-a) = 1 - sigma(a), so PyTorch's z' = 1 - z with
  negated gate weights and bias;
* :func:`gru_reset_placement_difference` / :func:`gru_reset_placement_agreement`: W_h (r * h) and
  r * (W_h h) agree for every r and h exactly when W_h is diagonal;
* :func:`gradient_scale_after`: factor**steps exactly (Rationals stay Rationals).

Vectors are rows; gate matrices act on [h_{t-1}; x_t] with the hidden state first.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import sympy as sp

from lmverify.convert import object_array_to_sympy, sympy_to_object_array

# -- helpers: object arrays of SymPy expressions, the same algebra as the NumPy form ----------


def _obj(a):
    if a is None:
        return None
    if isinstance(a, (int, float)):
        return np.array(sp.nsimplify(a) if isinstance(a, float) else sp.Integer(a), dtype=object)
    return sympy_to_object_array(a)


def _back(a):
    return object_array_to_sympy(np.asarray(a, dtype=object))


def _elementwise(f):
    vf = np.vectorize(f, otypes=[object])

    def apply(a):
        # exact SymPy values; SymPy's own float comparisons (e.g. deciding whether exp(1000) simplifies)
        # can raise the FPU overflow flag, which NumPy would report as a warning of this object loop
        with np.errstate(all="ignore"):
            return vf(a)

    return apply


_tanh = _elementwise(lambda v: sp.tanh(v))
_exp = _elementwise(lambda v: sp.exp(v))
_sigmoid = _elementwise(lambda v: 1 / (1 + sp.exp(-v)))


def _mv(M, W):
    """Rows of M times W^T: (..., k) @ (n, k)^T, on object arrays."""
    return np.matmul(M, np.asarray(W, dtype=object).T)


def _shape_error(fn, name, want, got):
    raise ValueError(f"{fn}: {name} must have shape {want}, got {tuple(got)}")


def _check_gate_matrix(W, name, d_h, d_x, fn):
    if W.shape != (d_h, d_h + d_x):
        _shape_error(fn, name, f"(d_h, d_h + d_x) = ({d_h}, {d_h + d_x}) acting on [h_prev; x]", W.shape)


def _check_bias(b, name, d_h, fn):
    if b is None:
        return sp.Integer(0)
    if b.shape != (d_h,):
        _shape_error(fn, name, f"(d_h,) = ({d_h},)", b.shape)
    return b


def _concat(h, x):
    lead = np.broadcast_shapes(h.shape[:-1], x.shape[:-1])
    return np.concatenate([np.broadcast_to(h, lead + h.shape[-1:]), np.broadcast_to(x, lead + x.shape[-1:])], axis=-1)


def _softmax(z):
    e = _exp(z)
    s = e.sum(axis=-1, keepdims=True)
    return e / s


def concat_hx(h_prev, x):
    """[h_{t-1}; x_t]: the hidden state first, then the input."""
    return _back(_concat(_obj(h_prev), _obj(x)))


# -- feed-forward LM -----------------------------------------------------------------------


def feedforward_lm(es, W, b, U, d):
    """softmax(U tanh(W [e_{t-n+1}; ...; e_{t-1}] + b) + d), exactly. es: (n-1, d_e) (or batched)."""
    es, W, b, U, d = (_obj(a) for a in (es, W, b, U, d))
    if es.ndim < 2:
        raise ValueError(f"feedforward_lm: es must have at least 2 dimension(s), got shape {es.shape}")
    ctx = es.reshape(es.shape[:-2] + (es.shape[-2] * es.shape[-1],))
    if W.ndim != 2 or W.shape[1] != ctx.shape[-1]:
        raise ValueError(f"feedforward_lm: W must have shape (d_h, (n-1)*d_e) = (d_h, {ctx.shape[-1]}) for es of "
                         f"shape {es.shape}, got {W.shape}")
    h = _tanh(_mv(ctx, W) + b)
    return _back(_softmax(_mv(h, U) + d))


# -- sequence loss ----------------------------------------------------------------------------


def sequence_loss(logits, targets, ignore_index=None):
    """-(1/T) sum_t log softmax(logits_t)[w_t], exactly, over the positions not ``ignore_index``."""
    z = _obj(logits)
    t = np.asarray(sympy_to_object_array(targets) if not isinstance(targets, np.ndarray) else targets)
    t = np.vectorize(lambda v: int(v), otypes=[object])(t) if t.dtype == object else t
    if tuple(t.shape) != z.shape[:-1]:
        raise ValueError(f"sequence_loss: targets must have shape logits.shape[:-1] = {z.shape[:-1]}, got {t.shape}")
    V = z.shape[-1]
    z = z.reshape(-1, V)
    t = np.asarray(t).reshape(-1)
    terms = []
    for row, w in zip(z, t):
        w = int(w)
        if ignore_index is not None and w == int(ignore_index):
            continue
        if not 0 <= w < V:
            raise ValueError(f"sequence_loss: targets must lie in [0, {V}), got {w}")
        terms.append(row[w] - sp.log(sum(sp.exp(v) for v in row)))
    if not terms:
        return sp.nan
    return -sp.Add(*terms) / len(terms)


# -- RNN ------------------------------------------------------------------------------------


def rnn_cell(x, h_prev, W_hh, W_xh, b):
    """h_t = tanh(W_hh h_{t-1} + W_xh x_t + b), exactly."""
    x, h, W_hh, W_xh = (_obj(a) for a in (x, h_prev, W_hh, W_xh))
    d_h, d_x = h.shape[-1], x.shape[-1]
    if W_hh.shape != (d_h, d_h):
        _shape_error("rnn_cell", "W_hh", f"(d_h, d_h) = ({d_h}, {d_h})", W_hh.shape)
    if W_xh.shape != (d_h, d_x):
        _shape_error("rnn_cell", "W_xh", f"(d_h, d_x) = ({d_h}, {d_x})", W_xh.shape)
    b = _check_bias(_obj(b), "b", d_h, "rnn_cell")
    return _back(_tanh(_mv(h, W_hh) + _mv(x, W_xh) + b))


def _unroll(step, xs, fn):
    xs = _obj(xs)
    if xs.ndim < 2:
        raise ValueError(f"{fn}: xs must have at least 2 dimension(s), got shape {xs.shape}")
    if xs.shape[-2] == 0:
        raise ValueError(f"{fn}: xs has no time steps (T = 0)")
    return xs, [step(xs[..., t, :]) for t in range(xs.shape[-2])]


def rnn_forward(xs, h0, W_hh, W_xh, b):
    """The unrolled RNN, exactly: hs (T, d_h) (or batched)."""
    state = {"h": _obj(h0)}

    def step(x):
        state["h"] = _obj(rnn_cell(_back(x), _back(state["h"]), W_hh, W_xh, b))
        return state["h"]

    _, hs = _unroll(step, xs, "rnn_forward")
    return _back(np.stack(hs, axis=-2))


def rnn_next_token_probs(h, W_hy):
    """softmax(W_hy h_t), exactly."""
    return _back(_softmax(_mv(_obj(h), _obj(W_hy))))


# -- BPTT ---------------------------------------------------------------------------------------


def rnn_step_jacobian(h, W_hh):
    """diag(1 - h_t^2) W_hh, exactly (h_t the step's output)."""
    h, W = _obj(h), np.asarray(_obj(W_hh), dtype=object)
    return _back((1 - h**2)[..., :, None] * W)


def bptt_jacobian_product(hs, W_hh):
    """J_T ... J_1 with J_t = diag(1 - h_t^2) W_hh, exactly."""
    hs = _obj(hs)
    if hs.ndim < 2:
        raise ValueError(f"bptt_jacobian_product: hs must have at least 2 dimension(s), got shape {hs.shape}")
    J = None
    for t in range(hs.shape[-2]):
        Jt = _obj(rnn_step_jacobian(_back(hs[..., t, :]), W_hh))
        J = Jt if J is None else np.matmul(Jt, J)
    return _back(J)


def bptt_gradient_bound(hs, W_hh):
    """prod_t max_i(1 - h_{t,i}^2) * ||W_hh||_2, the spectral norm as the largest singular value (exact)."""
    hs = _obj(hs)
    if hs.ndim < 2:
        raise ValueError(f"bptt_gradient_bound: hs must have at least 2 dimension(s), got shape {hs.shape}")
    M = sp.Matrix(_obj(W_hh).tolist())
    sigma = sp.sqrt(max((M.T * M).eigenvals(), key=lambda v: sp.N(v, 30)))
    flat = hs.reshape(-1, hs.shape[-2], hs.shape[-1])
    out = []
    for seq in flat:
        prod = sp.Integer(1)
        for row in seq:
            prod *= sp.Max(*[1 - v**2 for v in row]) * sigma
        out.append(prod)
    res = np.array(out, dtype=object).reshape(hs.shape[:-2])
    return res.item() if res.ndim == 0 else _back(res)


def gradient_scale_after(factor, steps):
    """factor**steps, exactly."""
    if steps < 0:
        raise ValueError(f"gradient_scale_after: steps must be >= 0, got {steps!r}")
    factor = sp.nsimplify(factor) if isinstance(factor, float) else sp.sympify(factor)
    return factor ** sp.Integer(int(steps))


@lru_cache(maxsize=None)
def bptt_step_jacobian_symbolic(d_h=2, d_x=1):
    """(J, expected): the SymPy Jacobian of tanh(W_hh h + W_xh x + b) w.r.t. h, and diag(1 - h_t^2) W_hh
    written with h_t = the step's output; their difference simplifies to zero."""
    h = sp.Matrix(sp.symbols(f"h0:{d_h}"))
    x = sp.Matrix(sp.symbols(f"x0:{d_x}"))
    W = sp.Matrix(d_h, d_h, sp.symbols(f"w0:{d_h * d_h}"))
    U = sp.Matrix(d_h, d_x, sp.symbols(f"u0:{d_h * d_x}"))
    b = sp.Matrix(sp.symbols(f"b0:{d_h}"))
    out = (W * h + U * x + b).applyfunc(sp.tanh)
    J = out.jacobian(h)
    expected = sp.diag(*[1 - v**2 for v in out]) * W
    return J, expected


# -- LSTM ------------------------------------------------------------------------------------------


def lstm_gates(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """Every intermediate of one LSTM step, exactly (dict: z_f, z_i, z_c, z_o, f, i, c_tilde, o, c, tanh_c, h)."""
    x, h, c = _obj(x), _obj(h_prev), _obj(c_prev)
    d_h, d_x = h.shape[-1], x.shape[-1]
    if c.shape[-1] != d_h:
        raise ValueError(f"lstm_gates: c_prev must have d_h = {d_h} features like h_prev, got shape {c.shape}")
    Ws = [_obj(W) for W in (W_f, W_i, W_c, W_o)]
    for W, n in zip(Ws, ("W_f", "W_i", "W_c", "W_o")):
        _check_gate_matrix(W, n, d_h, d_x, "lstm_gates")
    bs = [_check_bias(_obj(v), n, d_h, "lstm_gates") for v, n in zip((b_f, b_i, b_c, b_o), ("b_f", "b_i", "b_c", "b_o"))]
    hx = _concat(h, x)
    g = {k: _mv(hx, W) + bb for k, W, bb in zip(("z_f", "z_i", "z_c", "z_o"), Ws, bs)}
    g["f"], g["i"], g["c_tilde"], g["o"] = _sigmoid(g["z_f"]), _sigmoid(g["z_i"]), _tanh(g["z_c"]), _sigmoid(g["z_o"])
    g["c"] = g["f"] * c + g["i"] * g["c_tilde"]
    g["tanh_c"] = _tanh(g["c"])
    g["h"] = g["o"] * g["tanh_c"]
    return {k: _back(v) for k, v in g.items()}


def lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """One LSTM step, exactly -> (h_t, c_t)."""
    g = lstm_gates(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
    return g["h"], g["c"]


def lstm_forward(xs, h0, c0, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """The unrolled LSTM, exactly -> (hs, cs)."""
    state = {"h": _obj(h0), "c": _obj(c0)}
    cs = []

    def step(x):
        h, c = lstm_cell(_back(x), _back(state["h"]), _back(state["c"]), W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
        state["h"], state["c"] = _obj(h), _obj(c)
        cs.append(state["c"])
        return state["h"]

    _, hs = _unroll(step, xs, "lstm_forward")
    return _back(np.stack(hs, axis=-2)), _back(np.stack(cs, axis=-2))


@lru_cache(maxsize=None)
def lstm_cell_path_jacobian(d_h=2, d_x=1):
    """(J, diag(f)): the SymPy Jacobian dc_t/dc_{t-1} of the page's cell update (h_{t-1}, x_t fixed)
    and diag(f_t); they are identical expressions (the gates do not depend on c_{t-1})."""
    h = sp.symbols(f"h0:{d_h}")
    c = sp.symbols(f"c0:{d_h}")
    x = sp.symbols(f"x0:{d_x}")
    Ws = [sp.Matrix(d_h, d_h + d_x, sp.symbols(f"{g}0:{d_h * (d_h + d_x)}")) for g in ("wf", "wi", "wc", "wo")]
    bs = [sp.Matrix(sp.symbols(f"{g}0:{d_h}")) for g in ("bf", "bi", "bc", "bo")]
    hx = sp.Matrix(list(h) + list(x))
    f = (Ws[0] * hx + bs[0]).applyfunc(lambda v: 1 / (1 + sp.exp(-v)))
    i = (Ws[1] * hx + bs[1]).applyfunc(lambda v: 1 / (1 + sp.exp(-v)))
    ct = (Ws[2] * hx + bs[2]).applyfunc(sp.tanh)
    c_new = sp.Matrix([f[k] * c[k] + i[k] * ct[k] for k in range(d_h)])
    return c_new.jacobian(sp.Matrix(c)), sp.diag(*f)


# -- GRU ------------------------------------------------------------------------------------------


def gru_gates(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    """Every intermediate of one GRU step (the page's form), exactly: z_z, z_r, z_h, z, r, h_tilde, h."""
    x, h = _obj(x), _obj(h_prev)
    d_h, d_x = h.shape[-1], x.shape[-1]
    W_z, W_r, W = (_obj(M) for M in (W_z, W_r, W))
    for M, n in ((W_z, "W_z"), (W_r, "W_r"), (W, "W")):
        _check_gate_matrix(M, n, d_h, d_x, "gru_gates")
    b_z, b_r, b = (_check_bias(_obj(v), n, d_h, "gru_gates") for v, n in ((b_z, "b_z"), (b_r, "b_r"), (b, "b")))
    hx = _concat(h, x)
    g = {"z_z": _mv(hx, W_z) + b_z, "z_r": _mv(hx, W_r) + b_r}
    g["z"], g["r"] = _sigmoid(g["z_z"]), _sigmoid(g["z_r"])
    g["z_h"] = _mv(_concat(g["r"] * h, x), W) + b
    g["h_tilde"] = _tanh(g["z_h"])
    g["h"] = (1 - g["z"]) * h + g["z"] * g["h_tilde"]
    return {k: _back(v) for k, v in g.items()}


def gru_cell(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    """One GRU step (the page's form), exactly."""
    return gru_gates(x, h_prev, W_z, W_r, W, b_z, b_r, b)["h"]


def gru_forward(xs, h0, W_z, W_r, W, b_z=None, b_r=None, b=None):
    """The unrolled GRU, exactly."""
    state = {"h": _obj(h0)}

    def step(x):
        state["h"] = _obj(gru_cell(_back(x), _back(state["h"]), W_z, W_r, W, b_z, b_r, b))
        return state["h"]

    _, hs = _unroll(step, xs, "gru_forward")
    return _back(np.stack(hs, axis=-2))


def gru_update_convention_identity():
    """sigma(-a) - (1 - sigma(a)), which simplifies to 0: PyTorch's z' = 1 - z is the page's gate with
    negated weights and bias, and (1 - z) h + z h~ = z' h + (1 - z') h~."""
    a = sp.Symbol("a", real=True)
    sig = lambda v: 1 / (1 + sp.exp(-v))  # noqa: E731
    return sp.simplify(sig(-a) - (1 - sig(a)))


def gru_reset_placement_difference(d_h=3):
    """W_h (r * h) - r * (W_h h) for a symbolic d_h x d_h matrix: entry i is sum_j W_ij h_j (r_j - r_i)."""
    W = sp.Matrix(d_h, d_h, lambda i, j: sp.Symbol(f"w{i}{j}"))
    r = sp.Matrix(sp.symbols(f"r0:{d_h}"))
    h = sp.Matrix(sp.symbols(f"h0:{d_h}"))
    return (W * r.multiply_elementwise(h) - r.multiply_elementwise(W * h)).expand(), W, r, h


def gru_reset_placement_agreement(d_h=3):
    """The conditions on W_h under which the two reset placements agree for every r and h: the
    coefficients of the difference as a polynomial in r and h must vanish. Returns the solution set
    (a dict W_ij -> 0 for every i != j): exactly the diagonal matrices."""
    diff, W, r, h = gru_reset_placement_difference(d_h)
    coeffs = []
    for e in diff:
        coeffs.extend(sp.Poly(e, *r, *h).coeffs())
    return sp.solve(coeffs, list(W), dict=True)


# -- bidirectional --------------------------------------------------------------------------------


def reverse_time(xs):
    """xs with the time axis (second to last) reversed."""
    return _back(np.flip(_obj(xs), axis=-2))


def bidirectional_concat(hs_forward, hs_backward):
    """Row t = [hs_forward[t]; hs_backward[T-1-t]] (hs_backward as produced on reverse_time(xs))."""
    f, bwd = _obj(hs_forward), _obj(hs_backward)
    if f.ndim < 2 or bwd.ndim < 2:
        raise ValueError("bidirectional_concat: hs_forward and hs_backward must have at least 2 dimension(s), "
                         f"got shapes {f.shape} and {bwd.shape}")
    if f.shape[:-1] != bwd.shape[:-1]:
        raise ValueError(f"bidirectional_concat: hs_forward {f.shape} and hs_backward {bwd.shape} must agree on "
                         f"every axis but the last")
    return _back(np.concatenate([f, np.flip(bwd, axis=-2)], axis=-1))


# -- the page's displays one by one ----------------------------------------------------------------


def _gate(x, h_prev, W, b, fn, wname, bname):
    x, h = _obj(x), _obj(h_prev)
    d_h, d_x = h.shape[-1], x.shape[-1]
    W = _obj(W)
    _check_gate_matrix(W, wname, d_h, d_x, fn)
    return _mv(_concat(h, x), W) + _check_bias(_obj(b), bname, d_h, fn)


def lstm_forget_gate(x, h_prev, W_f, b_f):
    """f_t = sigma(W_f [h_{t-1}; x_t] + b_f), exactly."""
    return _back(_sigmoid(_gate(x, h_prev, W_f, b_f, "lstm_forget_gate", "W_f", "b_f")))


def lstm_input_gate(x, h_prev, W_i, b_i):
    """i_t = sigma(W_i [h_{t-1}; x_t] + b_i), exactly."""
    return _back(_sigmoid(_gate(x, h_prev, W_i, b_i, "lstm_input_gate", "W_i", "b_i")))


def lstm_candidate(x, h_prev, W_c, b_c):
    """c~_t = tanh(W_c [h_{t-1}; x_t] + b_c), exactly."""
    return _back(_tanh(_gate(x, h_prev, W_c, b_c, "lstm_candidate", "W_c", "b_c")))


def lstm_output_gate(x, h_prev, W_o, b_o):
    """o_t = sigma(W_o [h_{t-1}; x_t] + b_o), exactly."""
    return _back(_sigmoid(_gate(x, h_prev, W_o, b_o, "lstm_output_gate", "W_o", "b_o")))


def lstm_cell_update(f, c_prev, i, c_tilde):
    """c_t = f_t * c_{t-1} + i_t * c~_t, exactly."""
    f, c_prev, i, c_tilde = (_obj(a) for a in (f, c_prev, i, c_tilde))
    return _back(f * c_prev + i * c_tilde)


def lstm_hidden(o, c):
    """h_t = o_t * tanh(c_t), exactly."""
    return _back(_obj(o) * _tanh(_obj(c)))


def gru_update_gate(x, h_prev, W_z, b_z=None):
    """z_t = sigma(W_z [h_{t-1}; x_t] (+ b_z)), exactly."""
    return _back(_sigmoid(_gate(x, h_prev, W_z, b_z, "gru_update_gate", "W_z", "b_z")))


def gru_reset_gate(x, h_prev, W_r, b_r=None):
    """r_t = sigma(W_r [h_{t-1}; x_t] (+ b_r)), exactly."""
    return _back(_sigmoid(_gate(x, h_prev, W_r, b_r, "gru_reset_gate", "W_r", "b_r")))


def gru_candidate(x, h_prev, r, W, b=None):
    """h~_t = tanh(W [r_t * h_{t-1}; x_t] (+ b)), exactly."""
    rh = _back(_obj(r) * _obj(h_prev))
    return _back(_tanh(_gate(x, rh, W, b, "gru_candidate", "W", "b")))


def gru_interpolate(h_prev, z, h_tilde):
    """h_t = (1 - z_t) * h_{t-1} + z_t * h~_t, exactly."""
    h, z, ht = (_obj(a) for a in (h_prev, z, h_tilde))
    return _back((1 - z) * h + z * ht)
