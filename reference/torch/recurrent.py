"""Recurrent language models, PyTorch implementation (course page: neural_language_models.md).

Same functions, parameters and conventions as reference/numpy/recurrent.py (rows are vectors,
leading batch axes allowed, gate matrices act on [h_{t-1}; x_t] with the hidden state first,
the page's GRU form); differentiable, float32 or float64 (whatever the inputs are).

Also here: the mappings to and from PyTorch's module layouts as tensors
(:func:`lstm_to_torch` ... :func:`gru_from_torch`), :func:`load_into` / :func:`params_of` to put
page parameters into an ``nn.RNN/LSTM/GRU`` or ``*Cell`` (any layer, either direction) and take
them out again, and :func:`bidirectional` (a forward pass and a reversed backward pass).
"""

from __future__ import annotations

import torch

from reference.numpy._common import check_scalar
from reference.torch._common import accepts_numpy

# -- helpers ------------------------------------------------------------------


def _t(a, like=None):
    if isinstance(a, torch.Tensor):
        return a
    dtype = like.dtype if isinstance(like, torch.Tensor) else torch.float64
    return torch.as_tensor(a, dtype=dtype)


def _check_gate_matrix(W, name, d_h, d_x, fn):
    if tuple(W.shape) != (d_h, d_h + d_x):
        raise ValueError(
            f"{fn}: {name} must have shape (d_h, d_h + d_x) = ({d_h}, {d_h + d_x}) acting on [h_prev; x], "
            f"got {tuple(W.shape)}"
        )


def _check_bias(b, name, d_h, fn):
    if b is None:
        return 0.0
    if tuple(b.shape) != (d_h,):
        raise ValueError(f"{fn}: {name} must have shape (d_h,) = ({d_h},), got {tuple(b.shape)}")
    return b


def _need(a, name, fn, ndim_min=1):
    if a.dim() < ndim_min:
        raise ValueError(f"{fn}: {name} must have at least {ndim_min} dimension(s), got shape {tuple(a.shape)}")


@accepts_numpy
def concat_hx(h_prev, x):
    """[h_{t-1}; x_t]: the hidden state first, then the input, on the last axis -> (..., d_h + d_x)."""
    lead = torch.broadcast_shapes(h_prev.shape[:-1], x.shape[:-1])
    return torch.cat([h_prev.expand(*lead, h_prev.shape[-1]), x.expand(*lead, x.shape[-1])], dim=-1)


# -- feed-forward LM ---------------------------------------------------------------------


@accepts_numpy
def feedforward_lm(es, W, b, U, d):
    """P(w_t | context) = softmax(U h + d), h = tanh(W [e_{t-n+1}; ...; e_{t-1}] + b).

    es: (..., n-1, d_e), W: (d_h, (n-1) d_e), b: (d_h,), U: (V, d_h), d: (V,) -> (..., V).
    """
    _need(es, "es", "feedforward_lm", 2)
    ctx = es.reshape(*es.shape[:-2], es.shape[-2] * es.shape[-1])
    if W.dim() != 2 or W.shape[1] != ctx.shape[-1]:
        raise ValueError(
            f"feedforward_lm: W must have shape (d_h, (n-1)*d_e) = (d_h, {ctx.shape[-1]}) for es of shape "
            f"{tuple(es.shape)}, got {tuple(W.shape)}"
        )
    h = torch.tanh(ctx @ W.T + b)
    return torch.softmax(h @ U.T + d, dim=-1)


# -- sequence loss ----------------------------------------------------------------------


@accepts_numpy
def sequence_loss(logits, targets, ignore_index=None):
    """L = -(1/T) sum_t log P(w_t | w_<t) over the positions whose target is not ``ignore_index``.

    logits: (..., T, V); targets: (..., T) integer ids -> scalar tensor.
    """
    targets = torch.as_tensor(targets)
    if targets.is_floating_point():
        if not bool(torch.all(torch.isfinite(targets))) or not bool(torch.all(targets == targets.round())):
            raise TypeError(f"sequence_loss: targets must be integer token ids, got dtype {targets.dtype}")
        targets = targets.long()
    if tuple(targets.shape) != tuple(logits.shape[:-1]):
        raise ValueError(f"sequence_loss: targets must have shape logits.shape[:-1] = {tuple(logits.shape[:-1])}, "
                         f"got {tuple(targets.shape)}")
    V = logits.shape[-1]
    t = targets.reshape(-1)
    z = logits.reshape(-1, V)
    keep = torch.ones_like(t, dtype=torch.bool) if ignore_index is None else t != ignore_index
    if bool(torch.any((t[keep] < 0) | (t[keep] >= V))):
        raise ValueError(f"sequence_loss: targets must lie in [0, {V}), got {t[keep].tolist()}")
    log_p = torch.log_softmax(z[keep], dim=-1)
    return -log_p.gather(-1, t[keep].unsqueeze(-1)).squeeze(-1).mean()


# -- RNN --------------------------------------------------------------------------------


@accepts_numpy
def rnn_cell(x, h_prev, W_hh, W_xh, b):
    """h_t = tanh(W_hh h_{t-1} + W_xh x_t + b). x: (..., d_x), h_prev: (..., d_h) -> (..., d_h)."""
    d_h, d_x = h_prev.shape[-1], x.shape[-1]
    if tuple(W_hh.shape) != (d_h, d_h):
        raise ValueError(f"rnn_cell: W_hh must have shape (d_h, d_h) = ({d_h}, {d_h}), got {tuple(W_hh.shape)}")
    if tuple(W_xh.shape) != (d_h, d_x):
        raise ValueError(f"rnn_cell: W_xh must have shape (d_h, d_x) = ({d_h}, {d_x}), got {tuple(W_xh.shape)}")
    b = _check_bias(b, "b", d_h, "rnn_cell")
    return torch.tanh(h_prev @ W_hh.T + x @ W_xh.T + b)


@accepts_numpy
def rnn_forward(xs, h0, W_hh, W_xh, b):
    """The unrolled RNN. xs: (..., T, d_x), h0: (..., d_h) -> hs: (..., T, d_h)."""
    _need(xs, "xs", "rnn_forward", 2)
    if xs.shape[-2] == 0:
        raise ValueError("rnn_forward: xs has no time steps (T = 0)")
    h, out = h0, []
    for t in range(xs.shape[-2]):
        h = rnn_cell(xs[..., t, :], h, W_hh, W_xh, b)
        out.append(h)
    return torch.stack(out, dim=-2)


@accepts_numpy
def rnn_next_token_probs(h, W_hy):
    """P(w_{t+1} | w_<=t) = softmax(W_hy h_t). h: (..., d_h), W_hy: (V, d_h) -> (..., V)."""
    return torch.softmax(h @ W_hy.T, dim=-1)


# -- BPTT -------------------------------------------------------------------------------


@accepts_numpy
def rnn_step_jacobian(h, W_hh):
    """dh_t / dh_{t-1} = diag(1 - h_t^2) W_hh (h_t the step's output) -> (..., d_h, d_h)."""
    return (1 - h**2).unsqueeze(-1) * W_hh


@accepts_numpy
def bptt_jacobian_product(hs, W_hh):
    """dh_T / dh_0 = J_T ... J_1, J_t = diag(1 - h_t^2) W_hh. hs: (..., T, d_h) -> (..., d_h, d_h)."""
    _need(hs, "hs", "bptt_jacobian_product", 2)
    if hs.shape[-2] == 0:  # the empty product: dh_0 / dh_0 is the identity, for every leading index
        d_h = W_hh.shape[-1]
        return torch.eye(d_h, dtype=W_hh.dtype).expand(*hs.shape[:-2], d_h, d_h).clone()
    J = None
    for t in range(hs.shape[-2]):
        Jt = rnn_step_jacobian(hs[..., t, :], W_hh)
        J = Jt if J is None else Jt @ J
    return J


@accepts_numpy
def bptt_gradient_bound(hs, W_hh):
    """prod_t max_i(1 - h_{t,i}^2) * ||W_hh||_2 >= ||dh_T/dh_0||_2. hs: (..., T, d_h) -> (...)."""
    _need(hs, "hs", "bptt_gradient_bound", 2)
    sigma = torch.linalg.matrix_norm(W_hh, ord=2)
    return torch.prod((1 - hs**2).amax(dim=-1) * sigma, dim=-1)


@accepts_numpy
def gradient_scale_after(factor, steps):
    """factor**steps: the cumulative scale after ``steps`` steps that each multiply by ``factor``."""
    steps = check_scalar("gradient_scale_after", "steps", steps, low=0, integer=True)
    f = _t(factor)
    return torch.where(torch.isnan(f), torch.full_like(f, float("nan")), f ** steps)  # NaN in, NaN out


# -- LSTM -------------------------------------------------------------------------------


@accepts_numpy
def lstm_gates(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """One LSTM step as the page writes it; a dict of every intermediate:
    z_f, z_i, z_c, z_o (pre-activations), f, i, c_tilde, o, c, tanh_c, h (each (..., d_h)).

    x: (..., d_x), h_prev, c_prev: (..., d_h), W_*: (d_h, d_h + d_x) on [h_{t-1}; x_t], b_*: (d_h,).
    """
    d_h, d_x = h_prev.shape[-1], x.shape[-1]
    if c_prev.shape[-1] != d_h:
        raise ValueError(f"lstm_gates: c_prev must have d_h = {d_h} features like h_prev, got shape {tuple(c_prev.shape)}")
    for W, n in ((W_f, "W_f"), (W_i, "W_i"), (W_c, "W_c"), (W_o, "W_o")):
        _check_gate_matrix(W, n, d_h, d_x, "lstm_gates")
    for v, n in ((b_f, "b_f"), (b_i, "b_i"), (b_c, "b_c"), (b_o, "b_o")):
        _check_bias(v, n, d_h, "lstm_gates")
    hx = concat_hx(h_prev, x)
    g = {"z_f": hx @ W_f.T + b_f, "z_i": hx @ W_i.T + b_i, "z_c": hx @ W_c.T + b_c, "z_o": hx @ W_o.T + b_o}
    g["f"], g["i"] = torch.sigmoid(g["z_f"]), torch.sigmoid(g["z_i"])
    g["c_tilde"], g["o"] = torch.tanh(g["z_c"]), torch.sigmoid(g["z_o"])
    g["c"] = g["f"] * c_prev + g["i"] * g["c_tilde"]
    g["tanh_c"] = torch.tanh(g["c"])
    g["h"] = g["o"] * g["tanh_c"]
    return g


@accepts_numpy
def lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """One LSTM step (the page's equations) -> (h_t, c_t). Gate arguments in the page's order
    forget, input, candidate, output; each W acts on [h_{t-1}; x_t] (hidden first)."""
    g = lstm_gates(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
    return g["h"], g["c"]


@accepts_numpy
def lstm_forward(xs, h0, c0, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """The unrolled LSTM. xs: (..., T, d_x), h0, c0: (..., d_h) -> (hs, cs), each (..., T, d_h)."""
    _need(xs, "xs", "lstm_forward", 2)
    if xs.shape[-2] == 0:
        raise ValueError("lstm_forward: xs has no time steps (T = 0)")
    h, c, hs, cs = h0, c0, [], []
    for t in range(xs.shape[-2]):
        h, c = lstm_cell(xs[..., t, :], h, c, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
        hs.append(h)
        cs.append(c)
    return torch.stack(hs, dim=-2), torch.stack(cs, dim=-2)


# -- GRU --------------------------------------------------------------------------------


@accepts_numpy
def gru_gates(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    """One GRU step as the page writes it; dict z_z, z_r, z_h (pre-activations), z, r, h_tilde, h."""
    d_h, d_x = h_prev.shape[-1], x.shape[-1]
    for M, n in ((W_z, "W_z"), (W_r, "W_r"), (W, "W")):
        _check_gate_matrix(M, n, d_h, d_x, "gru_gates")
    b_z, b_r, b = (_check_bias(v, n, d_h, "gru_gates") for v, n in ((b_z, "b_z"), (b_r, "b_r"), (b, "b")))
    hx = concat_hx(h_prev, x)
    g = {"z_z": hx @ W_z.T + b_z, "z_r": hx @ W_r.T + b_r}
    g["z"], g["r"] = torch.sigmoid(g["z_z"]), torch.sigmoid(g["z_r"])
    g["z_h"] = concat_hx(g["r"] * h_prev, x) @ W.T + b
    g["h_tilde"] = torch.tanh(g["z_h"])
    g["h"] = (1 - g["z"]) * h_prev + g["z"] * g["h_tilde"]
    return g


@accepts_numpy
def gru_cell(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    """One GRU step, the page's form: h_t = (1 - z) * h_{t-1} + z * tanh(W [r * h_{t-1}; x_t] + b)."""
    return gru_gates(x, h_prev, W_z, W_r, W, b_z, b_r, b)["h"]


@accepts_numpy
def gru_forward(xs, h0, W_z, W_r, W, b_z=None, b_r=None, b=None):
    """The unrolled GRU. xs: (..., T, d_x), h0: (..., d_h) -> hs (..., T, d_h)."""
    _need(xs, "xs", "gru_forward", 2)
    if xs.shape[-2] == 0:
        raise ValueError("gru_forward: xs has no time steps (T = 0)")
    h, hs = h0, []
    for t in range(xs.shape[-2]):
        h = gru_cell(xs[..., t, :], h, W_z, W_r, W, b_z, b_r, b)
        hs.append(h)
    return torch.stack(hs, dim=-2)


# -- bidirectional ------------------------------------------------------------------------


@accepts_numpy
def reverse_time(xs):
    """xs with its time axis (second to last) reversed."""
    return torch.flip(xs, dims=(-2,))


@accepts_numpy
def bidirectional_concat(hs_forward, hs_backward):
    """Row t = [hs_forward[t]; hs_backward[T-1-t]], hs_backward being the backward RNN's states in
    the order it produced them on reverse_time(xs). (..., T, d_f), (..., T, d_b) -> (..., T, d_f + d_b)."""
    _need(hs_forward, "hs_forward", "bidirectional_concat", 2)
    _need(hs_backward, "hs_backward", "bidirectional_concat", 2)
    if hs_forward.shape[:-1] != hs_backward.shape[:-1]:
        raise ValueError(f"bidirectional_concat: hs_forward {tuple(hs_forward.shape)} and hs_backward "
                         f"{tuple(hs_backward.shape)} must agree on every axis but the last")
    return torch.cat([hs_forward, torch.flip(hs_backward, dims=(-2,))], dim=-1)


@accepts_numpy
def bidirectional(xs, forward_fn, backward_fn):
    """A bidirectional layer from two unidirectional passes (callables xs -> hs, e.g.
    ``lambda xs: lstm_forward(xs, h0, c0, **params)[0]``): bidirectional_concat(forward_fn(xs),
    backward_fn(reverse_time(xs)))."""
    return bidirectional_concat(forward_fn(xs), backward_fn(reverse_time(xs)))


# -- mappings to and from PyTorch's parameter layouts (tensors; see the NumPy module) ------------


@accepts_numpy
def rnn_to_torch(W_hh, W_xh, b):
    """The page's RNN -> dict(weight_ih=W_xh, weight_hh=W_hh, bias_ih=b, bias_hh=0)."""
    return {"weight_ih": W_xh.clone(), "weight_hh": W_hh.clone(), "bias_ih": b.clone(), "bias_hh": torch.zeros_like(b)}


@accepts_numpy
def rnn_from_torch(weight_ih, weight_hh, bias_ih, bias_hh):
    """PyTorch's RNN -> dict(W_hh, W_xh, b = bias_ih + bias_hh)."""
    return {"W_hh": weight_hh.clone(), "W_xh": weight_ih.clone(), "b": bias_ih + bias_hh}


@accepts_numpy
def lstm_to_torch(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """The page's LSTM -> PyTorch's dict(weight_ih, weight_hh, bias_ih, bias_hh): blocks i, f, g, o;
    hidden columns [:, :d_h] -> weight_hh, input columns [:, d_h:] -> weight_ih; bias_hh = 0."""
    d_h = W_f.shape[0]
    Ws = (W_i, W_f, W_c, W_o)
    bias = torch.cat([b_i, b_f, b_c, b_o])
    return {"weight_ih": torch.cat([W[:, d_h:] for W in Ws]), "weight_hh": torch.cat([W[:, :d_h] for W in Ws]),
            "bias_ih": bias, "bias_hh": torch.zeros_like(bias)}


@accepts_numpy
def lstm_from_torch(weight_ih, weight_hh, bias_ih, bias_hh):
    """PyTorch's LSTM -> the page's dict(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o) (b = bias_ih + bias_hh)."""
    d_h = weight_hh.shape[1]
    if weight_hh.shape[0] != 4 * d_h:
        raise ValueError(f"lstm_from_torch: weight_hh must have shape (4*d_h, d_h), got {tuple(weight_hh.shape)}")
    bias = bias_ih + bias_hh
    out = {}
    for name, k in (("f", 1), ("i", 0), ("c", 2), ("o", 3)):
        out[f"W_{name}"] = torch.cat([weight_hh[k * d_h:(k + 1) * d_h], weight_ih[k * d_h:(k + 1) * d_h]], dim=1)
    for name, k in (("f", 1), ("i", 0), ("c", 2), ("o", 3)):
        out[f"b_{name}"] = bias[k * d_h:(k + 1) * d_h]
    return out


def _is_diagonal(M):
    return bool(torch.equal(M, torch.diag_embed(torch.diagonal(M))))


@accepts_numpy
def gru_to_torch(W_z, W_r, W, b_z=None, b_r=None, b=None):
    """The page's GRU -> PyTorch's dict, blocks r, z, n: z block -W_z, -b_z (PyTorch's z is 1 - z);
    exists only when the hidden block W[:, :d_h] is diagonal (the reset placements then agree),
    else ValueError. See reference/numpy/recurrent.py gru_to_torch."""
    d_h = W.shape[0]
    if not _is_diagonal(W[:, :d_h]):
        raise ValueError(
            "gru_to_torch: PyTorch's GRU applies the reset after the hidden product, r * (W_hn h); the page's "
            "W [r * h; x] equals it for every r only when the hidden block W[:, :d_h] is diagonal, which it is not")
    zero = torch.zeros(d_h, dtype=W.dtype)
    b_z = zero if b_z is None else b_z
    b_r = zero if b_r is None else b_r
    b = zero if b is None else b
    return {"weight_ih": torch.cat([W_r[:, d_h:], -W_z[:, d_h:], W[:, d_h:]]),
            "weight_hh": torch.cat([W_r[:, :d_h], -W_z[:, :d_h], W[:, :d_h]]),
            "bias_ih": torch.cat([b_r, -b_z, b]), "bias_hh": torch.zeros(3 * d_h, dtype=W.dtype)}


@accepts_numpy
def gru_from_torch(weight_ih, weight_hh, bias_ih, bias_hh):
    """PyTorch's GRU -> the page's dict(W_z, W_r, W, b_z, b_r, b); needs W_hn diagonal and b_hn = 0."""
    d_h = weight_hh.shape[1]
    if weight_hh.shape[0] != 3 * d_h:
        raise ValueError(f"gru_from_torch: weight_hh must have shape (3*d_h, d_h), got {tuple(weight_hh.shape)}")
    blk = lambda k: slice(k * d_h, (k + 1) * d_h)  # noqa: E731
    W_hn = weight_hh[blk(2)]
    if not _is_diagonal(W_hn) or bool(torch.any(bias_hh[blk(2)] != 0)):
        raise ValueError(
            "gru_from_torch: PyTorch's r * (W_hn h + b_hn) equals the page's W_h (r * h) for every r only when "
            "W_hn is diagonal and b_hn = 0; this GRU has " + ("a non-diagonal W_hn" if not _is_diagonal(W_hn) else "b_hn != 0"))
    cat = lambda k: torch.cat([weight_hh[blk(k)], weight_ih[blk(k)]], dim=1)  # noqa: E731
    bias = bias_ih + bias_hh
    return {"W_z": -cat(1), "W_r": cat(0), "W": cat(2), "b_z": -bias[blk(1)], "b_r": bias[blk(0)], "b": bias_ih[blk(2)]}


_TO = {"rnn": rnn_to_torch, "lstm": lstm_to_torch, "gru": gru_to_torch}
_FROM = {"rnn": rnn_from_torch, "lstm": lstm_from_torch, "gru": gru_from_torch}


def _kind(module):
    name = type(module).__name__.lower()
    for k in ("lstm", "gru", "rnn"):
        if name.startswith(k):
            return k
    raise TypeError(f"expected an nn.RNN/LSTM/GRU or their Cell, got {type(module).__name__}")


def _suffix(module, layer, reverse):
    if isinstance(module, (torch.nn.RNNCell, torch.nn.LSTMCell, torch.nn.GRUCell)):
        if layer or reverse:
            raise ValueError("a *Cell module has one layer and one direction")
        return ""
    return f"_l{layer}" + ("_reverse" if reverse else "")


@torch.no_grad()
def load_into(module, params, layer=0, reverse=False):
    """Copy page parameters (a dict as lstm_from_torch / gru_from_torch / rnn_from_torch return,
    without the initial states) into ``module``'s weights of ``layer`` and direction. Returns module."""
    kind = _kind(module)
    mapped = _TO[kind](**{k: _t(v) for k, v in params.items()})
    sfx = _suffix(module, layer, reverse)
    for name, value in mapped.items():
        p = getattr(module, name + sfx)
        p.copy_(value.to(p.dtype))
    return module


@torch.no_grad()
def params_of(module, layer=0, reverse=False, dtype=torch.float64):
    """The page's parameters of ``module``'s ``layer`` and direction (the inverse of :func:`load_into`)."""
    kind = _kind(module)
    sfx = _suffix(module, layer, reverse)
    tensors = {n: getattr(module, n + sfx).detach().to(dtype) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    return _FROM[kind](**tensors)


# -- the page's displays one by one ----------------------------------------------------------


def _gate(x, h_prev, W, b, fn, wname, bname):
    d_h, d_x = h_prev.shape[-1], x.shape[-1]
    _check_gate_matrix(W, wname, d_h, d_x, fn)
    return concat_hx(h_prev, x) @ W.T + _check_bias(b, bname, d_h, fn)


@accepts_numpy
def lstm_forget_gate(x, h_prev, W_f, b_f):
    """f_t = sigma(W_f [h_{t-1}; x_t] + b_f) -> (..., d_h)."""
    return torch.sigmoid(_gate(x, h_prev, W_f, b_f, "lstm_forget_gate", "W_f", "b_f"))


@accepts_numpy
def lstm_input_gate(x, h_prev, W_i, b_i):
    """i_t = sigma(W_i [h_{t-1}; x_t] + b_i) -> (..., d_h)."""
    return torch.sigmoid(_gate(x, h_prev, W_i, b_i, "lstm_input_gate", "W_i", "b_i"))


@accepts_numpy
def lstm_candidate(x, h_prev, W_c, b_c):
    """c~_t = tanh(W_c [h_{t-1}; x_t] + b_c) -> (..., d_h)."""
    return torch.tanh(_gate(x, h_prev, W_c, b_c, "lstm_candidate", "W_c", "b_c"))


@accepts_numpy
def lstm_output_gate(x, h_prev, W_o, b_o):
    """o_t = sigma(W_o [h_{t-1}; x_t] + b_o) -> (..., d_h)."""
    return torch.sigmoid(_gate(x, h_prev, W_o, b_o, "lstm_output_gate", "W_o", "b_o"))


@accepts_numpy
def lstm_cell_update(f, c_prev, i, c_tilde):
    """c_t = f_t * c_{t-1} + i_t * c~_t."""
    return f * c_prev + i * c_tilde


@accepts_numpy
def lstm_hidden(o, c):
    """h_t = o_t * tanh(c_t)."""
    return o * torch.tanh(c)


@accepts_numpy
def gru_update_gate(x, h_prev, W_z, b_z=None):
    """z_t = sigma(W_z [h_{t-1}; x_t] (+ b_z))."""
    return torch.sigmoid(_gate(x, h_prev, W_z, b_z, "gru_update_gate", "W_z", "b_z"))


@accepts_numpy
def gru_reset_gate(x, h_prev, W_r, b_r=None):
    """r_t = sigma(W_r [h_{t-1}; x_t] (+ b_r))."""
    return torch.sigmoid(_gate(x, h_prev, W_r, b_r, "gru_reset_gate", "W_r", "b_r"))


@accepts_numpy
def gru_candidate(x, h_prev, r, W, b=None):
    """h~_t = tanh(W [r_t * h_{t-1}; x_t] (+ b)), the reset before the product."""
    return torch.tanh(_gate(x, r * h_prev, W, b, "gru_candidate", "W", "b"))


@accepts_numpy
def gru_interpolate(h_prev, z, h_tilde):
    """h_t = (1 - z_t) * h_{t-1} + z_t * h~_t."""
    return (1 - z) * h_prev + z * h_tilde
