"""Recurrent language models, NumPy float64 reference (course page: neural_language_models.md).

One function per equation of the page, written as the page writes it. Conventions
(tested in tests/test_recurrent*.py):

* vectors are rows; every array may carry leading batch axes, e.g. x: (..., d_x),
  h_prev: (..., d_h), a sequence xs: (..., T, d_x) with time on the second-to-last axis
  (PyTorch's ``batch_first=True`` layout);
* a matrix acts on the left of a column vector as printed (``W h``), computed on rows as
  ``h @ W.T``; so ``W_hh`` is (d_h, d_h) and ``W_xh`` is (d_h, d_x);
* every gate matrix of the LSTM and GRU (``W_f, W_i, W_c, W_o``, ``W_z, W_r, W``) acts on the
  concatenation ``[h_{t-1}; x_t]`` (hidden state FIRST, then the input) and has shape
  (d_h, d_h + d_x); each LSTM gate has its own bias (d_h,);
* the GRU is the page's form: ``h_t = (1 - z) * h_{t-1} + z * h_tilde`` and the reset multiplies
  ``h_{t-1}`` *before* the candidate's matrix product; biases are optional (the page prints none);
* PyTorch's layouts differ (gate order i, f, g, o; GRU order r, z, n with ``1 - z`` on the
  candidate and the reset after the hidden product; separate input and hidden matrices; two
  bias vectors): :func:`lstm_to_torch` / :func:`lstm_from_torch`, :func:`gru_to_torch` /
  :func:`gru_from_torch`, :func:`rnn_to_torch` / :func:`rnn_from_torch` map both ways.
"""

from __future__ import annotations

import numpy as np

from reference.numpy._common import check_scalar

# -- helpers ------------------------------------------------------------------


def _arr(a, name, fn, ndim_min=1):
    a = np.asarray(a, dtype=np.float64)
    if a.ndim < ndim_min:
        raise ValueError(f"{fn}: {name} must have at least {ndim_min} dimension(s), got shape {a.shape}")
    return a


def _sigmoid(z):
    # exp of a non-positive number only: no overflow for |z| large
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _check_gate_matrix(W, name, d_h, d_x, fn):
    W = np.asarray(W, dtype=np.float64)
    if W.shape != (d_h, d_h + d_x):
        raise ValueError(
            f"{fn}: {name} must have shape (d_h, d_h + d_x) = ({d_h}, {d_h + d_x}) acting on [h_prev; x], "
            f"got {W.shape}"
        )
    return W


def _check_bias(b, name, d_h, fn):
    if b is None:
        return 0.0
    b = np.asarray(b, dtype=np.float64)
    if b.shape != (d_h,):
        raise ValueError(f"{fn}: {name} must have shape (d_h,) = ({d_h},), got {b.shape}")
    return b


def concat_hx(h_prev, x):
    """[h_{t-1}; x_t]: the hidden state first, then the input, on the last axis -> (..., d_h + d_x)."""
    h_prev, x = np.asarray(h_prev, dtype=np.float64), np.asarray(x, dtype=np.float64)
    lead = np.broadcast_shapes(h_prev.shape[:-1], x.shape[:-1])
    return np.concatenate(
        [np.broadcast_to(h_prev, lead + h_prev.shape[-1:]), np.broadcast_to(x, lead + x.shape[-1:])], axis=-1
    )


# -- feed-forward LM (Bengio 2003) ---------------------------------------------


def feedforward_lm(es, W, b, U, d):
    """P(w_t | w_{t-n+1:t-1}) = softmax(U h + d), h = tanh(W [e_{t-n+1}; ...; e_{t-1}] + b).

    es: (..., n-1, d_e) the context embeddings, oldest first; W: (d_h, (n-1) d_e); b: (d_h,);
    U: (V, d_h); d: (V,). Returns the probability vector (..., V).
    """
    es = _arr(es, "es", "feedforward_lm", 2)
    W = np.asarray(W, dtype=np.float64)
    ctx = es.reshape(es.shape[:-2] + (es.shape[-2] * es.shape[-1],))
    if W.ndim != 2 or W.shape[1] != ctx.shape[-1]:
        raise ValueError(
            f"feedforward_lm: W must have shape (d_h, (n-1)*d_e) = (d_h, {ctx.shape[-1]}) for es of shape "
            f"{es.shape}, got {W.shape}"
        )
    h = np.tanh(ctx @ W.T + b)
    logits = h @ np.asarray(U, dtype=np.float64).T + d
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


# -- sequence loss ---------------------------------------------------------------


def sequence_loss(logits, targets, ignore_index=None):
    """L = -(1/T) sum_t log P(w_t | w_<t), P = softmax(logits) at each position.

    logits: (..., T, V) (all leading axes are positions, flattened as F.cross_entropy's mean
    does); targets: (..., T) integer token ids. Positions whose target equals ``ignore_index``
    (PyTorch's padding convention) are left out of the sum and of T. Returns a scalar.
    """
    logits = _arr(logits, "logits", "sequence_loss", 1)
    targets = np.asarray(targets)
    if targets.dtype.kind not in "iu":
        if targets.dtype.kind == "f" and np.all(np.isfinite(targets)) and np.all(targets == np.round(targets)):
            targets = targets.astype(np.int64)
        else:
            raise TypeError(f"sequence_loss: targets must be integer token ids, got dtype {targets.dtype}")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"sequence_loss: targets must have shape logits.shape[:-1] = {logits.shape[:-1]}, "
                         f"got {targets.shape}")
    V = logits.shape[-1]
    flat_t = targets.reshape(-1)
    flat_z = logits.reshape(-1, V)
    keep = np.ones_like(flat_t, dtype=bool) if ignore_index is None else flat_t != ignore_index
    if np.any((flat_t[keep] < 0) | (flat_t[keep] >= V)):
        raise ValueError(f"sequence_loss: targets must lie in [0, {V}), got {flat_t[keep]}")
    if not np.any(keep):
        return np.float64(np.nan)  # 0/0, as F.cross_entropy with every target ignored
    z = flat_z[keep]
    m = z.max(axis=-1, keepdims=True)
    log_p = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    return np.float64(-np.mean(log_p[np.arange(len(z)), flat_t[keep]]))


# -- RNN -----------------------------------------------------------------------------


def rnn_cell(x, h_prev, W_hh, W_xh, b):
    """h_t = tanh(W_hh h_{t-1} + W_xh x_t + b).

    x: (..., d_x), h_prev: (..., d_h), W_hh: (d_h, d_h), W_xh: (d_h, d_x), b: (d_h,) -> h: (..., d_h).
    """
    x = _arr(x, "x", "rnn_cell")
    h_prev = _arr(h_prev, "h_prev", "rnn_cell")
    W_hh, W_xh = np.asarray(W_hh, dtype=np.float64), np.asarray(W_xh, dtype=np.float64)
    d_h, d_x = h_prev.shape[-1], x.shape[-1]
    if W_hh.shape != (d_h, d_h):
        raise ValueError(f"rnn_cell: W_hh must have shape (d_h, d_h) = ({d_h}, {d_h}), got {W_hh.shape}")
    if W_xh.shape != (d_h, d_x):
        raise ValueError(f"rnn_cell: W_xh must have shape (d_h, d_x) = ({d_h}, {d_x}), got {W_xh.shape}")
    b = _check_bias(b, "b", d_h, "rnn_cell")
    return np.tanh(h_prev @ W_hh.T + x @ W_xh.T + b)


def rnn_forward(xs, h0, W_hh, W_xh, b):
    """The unrolled RNN: h_t = rnn_cell(x_t, h_{t-1}) for t = 1..T.

    xs: (..., T, d_x), h0: (..., d_h) -> hs: (..., T, d_h), every hidden state h_1..h_T.
    """
    xs = _arr(xs, "xs", "rnn_forward", 2)
    h = _arr(h0, "h0", "rnn_forward")
    out = []
    for t in range(xs.shape[-2]):
        h = rnn_cell(xs[..., t, :], h, W_hh, W_xh, b)
        out.append(h)
    if not out:
        raise ValueError("rnn_forward: xs has no time steps (T = 0)")
    return np.stack(out, axis=-2)


def rnn_next_token_probs(h, W_hy):
    """P(w_{t+1} | w_<=t) = softmax(W_hy h_t). h: (..., d_h), W_hy: (V, d_h) -> (..., V)."""
    z = np.asarray(h, dtype=np.float64) @ np.asarray(W_hy, dtype=np.float64).T
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# -- backpropagation through time ----------------------------------------------------


def rnn_step_jacobian(h, W_hh):
    """dh_t / dh_{t-1} = diag(1 - h_t^2) W_hh, with h_t the step's OUTPUT. h: (..., d_h) -> (..., d_h, d_h)."""
    h = np.asarray(h, dtype=np.float64)
    return (1.0 - h**2)[..., :, None] * np.asarray(W_hh, dtype=np.float64)


def bptt_jacobian_product(hs, W_hh):
    """dh_T / dh_0 = J_T J_{T-1} ... J_1, J_t = diag(1 - h_t^2) W_hh (latest factor on the left).

    hs: (..., T, d_h) the hidden states h_1..h_T of rnn_forward -> (..., d_h, d_h).
    """
    hs = _arr(hs, "hs", "bptt_jacobian_product", 2)
    W_hh = np.asarray(W_hh, dtype=np.float64)
    # the empty product (T = 0): dh_0 / dh_0 is the identity, for every leading index
    J = np.broadcast_to(np.eye(W_hh.shape[-1]), hs.shape[:-2] + W_hh.shape[-1:] * 2).copy()
    for t in range(hs.shape[-2]):
        J = rnn_step_jacobian(hs[..., t, :], W_hh) @ J
    return J


def bptt_gradient_bound(hs, W_hh):
    """||dh_T/dh_0||_2 <= prod_t max_i(1 - h_{t,i}^2) * ||W_hh||_2 (spectral norms, submultiplicativity).

    hs: (..., T, d_h) -> (...) the bound.
    """
    hs = _arr(hs, "hs", "bptt_gradient_bound", 2)
    sigma = np.linalg.norm(np.asarray(W_hh, dtype=np.float64), 2)
    return np.prod(np.max(1.0 - hs**2, axis=-1) * sigma, axis=-1)


def gradient_scale_after(factor, steps):
    """The cumulative scale factor**steps after ``steps`` steps that each multiply by ``factor``."""
    factor = np.asarray(factor, dtype=np.float64)[()]
    steps = check_scalar("gradient_scale_after", "steps", steps, low=0, integer=True)
    return np.where(np.isnan(factor), np.nan, factor**steps)[()]  # NaN in, NaN out (IEEE gives nan**0 = 1)


# -- LSTM ---------------------------------------------------------------------------


def _lstm_shapes(fn, x, h_prev, c_prev, Ws, bs):
    x = _arr(x, "x", fn)
    h_prev = _arr(h_prev, "h_prev", fn)
    c_prev = _arr(c_prev, "c_prev", fn)
    d_h, d_x = h_prev.shape[-1], x.shape[-1]
    if c_prev.shape[-1] != d_h:
        raise ValueError(f"{fn}: c_prev must have d_h = {d_h} features like h_prev, got shape {c_prev.shape}")
    Ws = [_check_gate_matrix(W, n, d_h, d_x, fn) for W, n in zip(Ws, ("W_f", "W_i", "W_c", "W_o"))]
    bs = [_check_bias(b, n, d_h, fn) for b, n in zip(bs, ("b_f", "b_i", "b_c", "b_o"))]
    return x, h_prev, c_prev, Ws, bs


def lstm_gates(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """One LSTM step as the page writes it, returning every intermediate (a dict).

    z_f = W_f [h_{t-1}; x_t] + b_f, f = sigma(z_f)     (forget gate)
    z_i = W_i [h_{t-1}; x_t] + b_i, i = sigma(z_i)     (input gate)
    z_c = W_c [h_{t-1}; x_t] + b_c, c_tilde = tanh(z_c) (candidate)
    z_o = W_o [h_{t-1}; x_t] + b_o, o = sigma(z_o)     (output gate)
    c = f * c_{t-1} + i * c_tilde, tanh_c = tanh(c), h = o * tanh_c

    x: (..., d_x), h_prev, c_prev: (..., d_h), W_*: (d_h, d_h + d_x), b_*: (d_h,).
    Keys: z_f, z_i, z_c, z_o, f, i, c_tilde, o, c, tanh_c, h (each (..., d_h)).
    """
    x, h_prev, c_prev, (W_f, W_i, W_c, W_o), (b_f, b_i, b_c, b_o) = _lstm_shapes(
        "lstm_gates", x, h_prev, c_prev, (W_f, W_i, W_c, W_o), (b_f, b_i, b_c, b_o))
    hx = concat_hx(h_prev, x)
    g = {"z_f": hx @ W_f.T + b_f, "z_i": hx @ W_i.T + b_i, "z_c": hx @ W_c.T + b_c, "z_o": hx @ W_o.T + b_o}
    g["f"], g["i"], g["c_tilde"], g["o"] = _sigmoid(g["z_f"]), _sigmoid(g["z_i"]), np.tanh(g["z_c"]), _sigmoid(g["z_o"])
    g["c"] = g["f"] * c_prev + g["i"] * g["c_tilde"]
    g["tanh_c"] = np.tanh(g["c"])
    g["h"] = g["o"] * g["tanh_c"]
    return g


def lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """One LSTM step (the page's gate equations) -> (h_t, c_t), each (..., d_h).

    x: (..., d_x), h_prev, c_prev: (..., d_h); W_f, W_i, W_c, W_o: (d_h, d_h + d_x) acting on
    [h_{t-1}; x_t] (hidden first); b_f, b_i, b_c, b_o: (d_h,). Gate order in the arguments:
    forget, input, candidate, output (NOT PyTorch's i, f, g, o). See lstm_gates for every gate.
    """
    g = lstm_gates(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
    return g["h"], g["c"]


def lstm_forward(xs, h0, c0, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """The unrolled LSTM. xs: (..., T, d_x), h0, c0: (..., d_h) -> (hs, cs), each (..., T, d_h)."""
    xs = _arr(xs, "xs", "lstm_forward", 2)
    if xs.shape[-2] == 0:
        raise ValueError("lstm_forward: xs has no time steps (T = 0)")
    h, c = h0, c0
    hs, cs = [], []
    for t in range(xs.shape[-2]):
        h, c = lstm_cell(xs[..., t, :], h, c, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
        hs.append(h)
        cs.append(c)
    return np.stack(hs, axis=-2), np.stack(cs, axis=-2)


# -- GRU ------------------------------------------------------------------------------


def gru_gates(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    """One GRU step as the page writes it, returning every intermediate (a dict).

    z = sigma(W_z [h_{t-1}; x_t] + b_z), r = sigma(W_r [h_{t-1}; x_t] + b_r),
    h_tilde = tanh(W [r * h_{t-1}; x_t] + b), h = (1 - z) * h_{t-1} + z * h_tilde.
    Biases default to none (as printed). Keys: z_z, z_r, z_h (pre-activations), z, r, h_tilde, h.
    """
    x = _arr(x, "x", "gru_gates")
    h_prev = _arr(h_prev, "h_prev", "gru_gates")
    d_h, d_x = h_prev.shape[-1], x.shape[-1]
    W_z, W_r, W = (_check_gate_matrix(M, n, d_h, d_x, "gru_gates") for M, n in ((W_z, "W_z"), (W_r, "W_r"), (W, "W")))
    b_z, b_r, b = (_check_bias(v, n, d_h, "gru_gates") for v, n in ((b_z, "b_z"), (b_r, "b_r"), (b, "b")))
    hx = concat_hx(h_prev, x)
    g = {"z_z": hx @ W_z.T + b_z, "z_r": hx @ W_r.T + b_r}
    g["z"], g["r"] = _sigmoid(g["z_z"]), _sigmoid(g["z_r"])
    g["z_h"] = concat_hx(g["r"] * h_prev, x) @ W.T + b
    g["h_tilde"] = np.tanh(g["z_h"])
    g["h"] = (1.0 - g["z"]) * h_prev + g["z"] * g["h_tilde"]
    return g


def gru_cell(x, h_prev, W_z, W_r, W, b_z=None, b_r=None, b=None):
    """One GRU step (the page's form) -> h_t (..., d_h).

    x: (..., d_x), h_prev: (..., d_h); W_z, W_r, W: (d_h, d_h + d_x) acting on [h_{t-1}; x_t]
    (for W: on [r * h_{t-1}; x_t], the reset applied BEFORE the product); optional biases (d_h,).
    h_t = (1 - z) * h_{t-1} + z * h_tilde: z = 1 takes the candidate (PyTorch's nn.GRU is the
    other way round, and resets after its hidden product; see gru_to_torch).
    """
    return gru_gates(x, h_prev, W_z, W_r, W, b_z, b_r, b)["h"]


def gru_forward(xs, h0, W_z, W_r, W, b_z=None, b_r=None, b=None):
    """The unrolled GRU. xs: (..., T, d_x), h0: (..., d_h) -> hs (..., T, d_h)."""
    xs = _arr(xs, "xs", "gru_forward", 2)
    if xs.shape[-2] == 0:
        raise ValueError("gru_forward: xs has no time steps (T = 0)")
    h = h0
    hs = []
    for t in range(xs.shape[-2]):
        h = gru_cell(xs[..., t, :], h, W_z, W_r, W, b_z, b_r, b)
        hs.append(h)
    return np.stack(hs, axis=-2)


# -- bidirectional ---------------------------------------------------------------------


def reverse_time(xs):
    """xs with its time axis (second to last) reversed: (..., T, d) -> (..., T, d)."""
    return np.flip(np.asarray(xs, dtype=np.float64), axis=-2).copy()


def bidirectional_concat(hs_forward, hs_backward):
    """h_t = [->h_t ; <-h_t]: concatenates a forward pass and a reversed backward pass.

    hs_forward: (..., T, d_f), the forward RNN's states on xs in time order; hs_backward:
    (..., T, d_b), the backward RNN's states as it produced them on reverse_time(xs) (so its
    first row belongs to position T). Returns (..., T, d_f + d_b) whose row t is
    [hs_forward[t]; hs_backward[T-1-t]], PyTorch's bidirectional output layout.
    """
    f = _arr(hs_forward, "hs_forward", "bidirectional_concat", 2)
    bwd = _arr(hs_backward, "hs_backward", "bidirectional_concat", 2)
    if f.shape[:-1] != bwd.shape[:-1]:
        raise ValueError(f"bidirectional_concat: hs_forward {f.shape} and hs_backward {bwd.shape} must agree on "
                         f"every axis but the last")
    return np.concatenate([f, np.flip(bwd, axis=-2)], axis=-1)


# -- mappings to and from PyTorch's parameter layouts -----------------------------------------
# PyTorch (nn.RNN/RNNCell, nn.LSTM/LSTMCell, nn.GRU/GRUCell), per layer and direction:
#   weight_ih (G*d_h, d_x), weight_hh (G*d_h, d_h), bias_ih (G*d_h,), bias_hh (G*d_h,),
#   gate blocks stacked in the order LSTM: i, f, g, o; GRU: r, z, n; RNN: one block.


def rnn_to_torch(W_hh, W_xh, b):
    """The page's RNN -> PyTorch's dict(weight_ih, weight_hh, bias_ih, bias_hh); bias_hh = 0."""
    b = np.asarray(b, dtype=np.float64)
    return {"weight_ih": np.array(W_xh, dtype=np.float64), "weight_hh": np.array(W_hh, dtype=np.float64),
            "bias_ih": b.copy(), "bias_hh": np.zeros_like(b)}


def rnn_from_torch(weight_ih, weight_hh, bias_ih, bias_hh):
    """PyTorch's RNN parameters -> the page's dict(W_hh, W_xh, b) with b = bias_ih + bias_hh."""
    return {"W_hh": np.array(weight_hh, dtype=np.float64), "W_xh": np.array(weight_ih, dtype=np.float64),
            "b": np.asarray(bias_ih, dtype=np.float64) + np.asarray(bias_hh, dtype=np.float64)}


def lstm_to_torch(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    """The page's LSTM -> PyTorch's dict(weight_ih, weight_hh, bias_ih, bias_hh).

    Blocks in PyTorch's order i, f, g(=candidate c), o; the hidden columns [:, :d_h] of each W go
    to weight_hh, the input columns [:, d_h:] to weight_ih; the biases to bias_ih (bias_hh = 0).
    """
    Ws = [np.asarray(W, dtype=np.float64) for W in (W_i, W_f, W_c, W_o)]
    d_h = Ws[0].shape[0]
    bs = [np.asarray(v, dtype=np.float64) for v in (b_i, b_f, b_c, b_o)]
    return {"weight_ih": np.concatenate([W[:, d_h:] for W in Ws]), "weight_hh": np.concatenate([W[:, :d_h] for W in Ws]),
            "bias_ih": np.concatenate(bs), "bias_hh": np.zeros(4 * d_h)}


def lstm_from_torch(weight_ih, weight_hh, bias_ih, bias_hh):
    """PyTorch's LSTM parameters -> the page's dict(W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o).

    W_gate = [weight_hh block | weight_ih block] (acting on [h; x]); b_gate = bias_ih + bias_hh block.
    """
    weight_ih, weight_hh = np.asarray(weight_ih, dtype=np.float64), np.asarray(weight_hh, dtype=np.float64)
    d_h = weight_hh.shape[1]
    if weight_hh.shape[0] != 4 * d_h:
        raise ValueError(f"lstm_from_torch: weight_hh must have shape (4*d_h, d_h), got {weight_hh.shape}")
    bias = np.asarray(bias_ih, dtype=np.float64) + np.asarray(bias_hh, dtype=np.float64)
    blk = lambda k: slice(k * d_h, (k + 1) * d_h)  # noqa: E731
    out = {}
    for name, k in (("f", 1), ("i", 0), ("c", 2), ("o", 3)):
        out[f"W_{name}"] = np.concatenate([weight_hh[blk(k)], weight_ih[blk(k)]], axis=1)
    for name, k in (("f", 1), ("i", 0), ("c", 2), ("o", 3)):
        out[f"b_{name}"] = bias[blk(k)]
    return out


def gru_hidden_reset_commutes(W, d_h):
    """Whether the reset placements agree for every r and h: the hidden block W[:, :d_h] is diagonal."""
    Wh = np.asarray(W, dtype=np.float64)[:, :d_h]
    return bool(np.all(Wh == np.diag(np.diag(Wh))))


def gru_to_torch(W_z, W_r, W, b_z=None, b_r=None, b=None):
    """The page's GRU -> PyTorch's dict(weight_ih, weight_hh, bias_ih, bias_hh), blocks r, z, n.

    * update gate: PyTorch's z' = 1 - z = sigma(-(W_z [h; x] + b_z)): its z block is -W_z, -b_z;
    * reset placement: the page computes W_h (r * h), PyTorch r * (W_hn h + b_hn). They agree for
      every r and h exactly when the hidden block W_h = W[:, :d_h] is diagonal (always for d_h = 1)
      and b_hn = 0 (the page's b goes to b_in); otherwise no PyTorch weights reproduce the page's
      GRU and this raises ValueError.
    """
    W_z, W_r, W = (np.asarray(M, dtype=np.float64) for M in (W_z, W_r, W))
    d_h = W.shape[0]
    if not gru_hidden_reset_commutes(W, d_h):
        raise ValueError(
            "gru_to_torch: PyTorch's GRU applies the reset after the hidden product, r * (W_hn h); the page's "
            "W [r * h; x] equals it for every r only when the hidden block W[:, :d_h] is diagonal, which it is not")
    zero = np.zeros(d_h)
    b_z = zero if b_z is None else np.asarray(b_z, dtype=np.float64)
    b_r = zero if b_r is None else np.asarray(b_r, dtype=np.float64)
    b = zero if b is None else np.asarray(b, dtype=np.float64)
    return {"weight_ih": np.concatenate([W_r[:, d_h:], -W_z[:, d_h:], W[:, d_h:]]),
            "weight_hh": np.concatenate([W_r[:, :d_h], -W_z[:, :d_h], W[:, :d_h]]),
            "bias_ih": np.concatenate([b_r, -b_z, b]), "bias_hh": np.zeros(3 * d_h)}


def gru_from_torch(weight_ih, weight_hh, bias_ih, bias_hh):
    """PyTorch's GRU parameters -> the page's dict(W_z, W_r, W, b_z, b_r, b).

    Needs the hidden candidate block W_hn diagonal and b_hn = 0 (see gru_to_torch); raises
    ValueError otherwise, since the page's GRU cannot express PyTorch's reset placement then.
    """
    weight_ih, weight_hh = np.asarray(weight_ih, dtype=np.float64), np.asarray(weight_hh, dtype=np.float64)
    bias_ih, bias_hh = np.asarray(bias_ih, dtype=np.float64), np.asarray(bias_hh, dtype=np.float64)
    d_h = weight_hh.shape[1]
    if weight_hh.shape[0] != 3 * d_h:
        raise ValueError(f"gru_from_torch: weight_hh must have shape (3*d_h, d_h), got {weight_hh.shape}")
    blk = lambda k: slice(k * d_h, (k + 1) * d_h)  # noqa: E731
    W_hn = weight_hh[blk(2)]
    if not np.all(W_hn == np.diag(np.diag(W_hn))) or np.any(bias_hh[blk(2)] != 0):
        raise ValueError(
            "gru_from_torch: PyTorch's r * (W_hn h + b_hn) equals the page's W_h (r * h) for every r only when "
            "W_hn is diagonal and b_hn = 0; this GRU has "
            + ("a non-diagonal W_hn" if not np.all(W_hn == np.diag(np.diag(W_hn))) else "b_hn != 0"))
    cat = lambda k: np.concatenate([weight_hh[blk(k)], weight_ih[blk(k)]], axis=1)  # noqa: E731
    bias = bias_ih + bias_hh
    return {"W_z": -cat(1), "W_r": cat(0), "W": cat(2),
            "b_z": -bias[blk(1)], "b_r": bias[blk(0)], "b": bias_ih[blk(2)]}


# -- the page's displays one by one (what a student writes first; lstm_gates / gru_gates chain them) ----


def _gate(x, h_prev, W, b, fn, wname, bname):
    x = _arr(x, "x", fn)
    h_prev = _arr(h_prev, "h_prev", fn)
    d_h, d_x = h_prev.shape[-1], x.shape[-1]
    W = _check_gate_matrix(W, wname, d_h, d_x, fn)
    return concat_hx(h_prev, x) @ W.T + _check_bias(b, bname, d_h, fn)


def lstm_forget_gate(x, h_prev, W_f, b_f):
    """f_t = sigma(W_f [h_{t-1}; x_t] + b_f). x: (..., d_x), h_prev: (..., d_h), W_f: (d_h, d_h + d_x) -> (..., d_h)."""
    return _sigmoid(_gate(x, h_prev, W_f, b_f, "lstm_forget_gate", "W_f", "b_f"))


def lstm_input_gate(x, h_prev, W_i, b_i):
    """i_t = sigma(W_i [h_{t-1}; x_t] + b_i) -> (..., d_h)."""
    return _sigmoid(_gate(x, h_prev, W_i, b_i, "lstm_input_gate", "W_i", "b_i"))


def lstm_candidate(x, h_prev, W_c, b_c):
    """c~_t = tanh(W_c [h_{t-1}; x_t] + b_c) -> (..., d_h)."""
    return np.tanh(_gate(x, h_prev, W_c, b_c, "lstm_candidate", "W_c", "b_c"))


def lstm_output_gate(x, h_prev, W_o, b_o):
    """o_t = sigma(W_o [h_{t-1}; x_t] + b_o) -> (..., d_h)."""
    return _sigmoid(_gate(x, h_prev, W_o, b_o, "lstm_output_gate", "W_o", "b_o"))


def lstm_cell_update(f, c_prev, i, c_tilde):
    """c_t = f_t * c_{t-1} + i_t * c~_t (elementwise). All (..., d_h) -> (..., d_h)."""
    f, c_prev, i, c_tilde = (np.asarray(a, dtype=np.float64) for a in (f, c_prev, i, c_tilde))
    return f * c_prev + i * c_tilde


def lstm_hidden(o, c):
    """h_t = o_t * tanh(c_t) (elementwise). (..., d_h), (..., d_h) -> (..., d_h)."""
    return np.asarray(o, dtype=np.float64) * np.tanh(np.asarray(c, dtype=np.float64))


def gru_update_gate(x, h_prev, W_z, b_z=None):
    """z_t = sigma(W_z [h_{t-1}; x_t] (+ b_z)) -> (..., d_h)."""
    return _sigmoid(_gate(x, h_prev, W_z, b_z, "gru_update_gate", "W_z", "b_z"))


def gru_reset_gate(x, h_prev, W_r, b_r=None):
    """r_t = sigma(W_r [h_{t-1}; x_t] (+ b_r)) -> (..., d_h)."""
    return _sigmoid(_gate(x, h_prev, W_r, b_r, "gru_reset_gate", "W_r", "b_r"))


def gru_candidate(x, h_prev, r, W, b=None):
    """h~_t = tanh(W [r_t * h_{t-1}; x_t] (+ b)): the reset multiplies h_{t-1} BEFORE the product -> (..., d_h)."""
    h_prev = _arr(h_prev, "h_prev", "gru_candidate")
    return np.tanh(_gate(x, np.asarray(r, dtype=np.float64) * h_prev, W, b, "gru_candidate", "W", "b"))


def gru_interpolate(h_prev, z, h_tilde):
    """h_t = (1 - z_t) * h_{t-1} + z_t * h~_t (elementwise) -> (..., d_h)."""
    h_prev, z, h_tilde = (np.asarray(a, dtype=np.float64) for a in (h_prev, z, h_tilde))
    return (1.0 - z) * h_prev + z * h_tilde
