"""Registry entries of the seq2seq topic (sequence_to_sequence.md): inputs, pinned inputs, errors, mistakes.

Laws particular to one equation stay in tests/test_seq2seq*.py. Inputs are tiny where SymPy is the
oracle (nested tanh and exp stay exact): at most 3 positions, 2 or 3 features, 3 tokens.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lmverify import strategies as S
from lmverify import tolerance as tol
from lmverify.registry import Equation, ErrorInput, Mistake, Pinned

# -- the page's own numbers (sequence_to_sequence.md, "Worked Example: Attention at Decoder Step 3") --
PAGE_H_ENC = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.2, 0.2, 0.6]])
PAGE_H_DEC = np.array([0.5, 0.8, 0.3])
PAGE_SCORES = np.array([0.5, 0.8, 0.44])


# -- a decoding model given as a table: log-probabilities of the next token for every prefix ---------


class PrefixTable:
    """step(prefix) -> log-probabilities of the next token, read from a table indexed by the prefix.

    ``table`` has shape (L, V**(L-1), V): row t, column sum_k prefix[k] * V**k holds the scores
    after the prefix of length t. Any real scores work (the decoders add them); tests use
    normalised log-probabilities or dyadic numbers (sums exact in float64).
    """

    def __init__(self, table: np.ndarray) -> None:
        self.table = np.asarray(table, dtype=np.float64)
        self.V = self.table.shape[-1]

    def index(self, prefix) -> int:
        return int(sum(int(y) * self.V**k for k, y in enumerate(prefix)))

    def __call__(self, prefix):
        return self.table[len(prefix), self.index(prefix)]

    def __repr__(self) -> str:
        return f"PrefixTable({self.table.tolist()!r})"


class DecoderStep:
    """step(prefix) -> log-probabilities of the next token from a toy RNN decoder (embedding table ``E``, ``h0``,
    ``W_hh``, ``W_xh``, ``b``, ``W_out``, ``b_out``), reading <bos> = 0 then the prefix. A module-level class, so
    that it travels to a student's process (a function defined inside a test cannot be pickled)."""

    def __init__(self, model: dict) -> None:
        self.model = {k: np.asarray(model[k], dtype=np.float64) for k in ("E", "h0", "W_hh", "W_xh", "b", "W_out",
                                                                           "b_out")}

    def __call__(self, prefix):
        from reference.numpy.recurrent import rnn_forward

        m = self.model
        ys = m["E"][np.array((0,) + tuple(int(y) for y in prefix))]
        h = rnn_forward(ys, m["h0"], m["W_hh"], m["W_xh"], m["b"])[-1]
        return log_softmax_rows(h @ m["W_out"].T + m["b_out"])

    def __repr__(self) -> str:
        return f"DecoderStep(V={self.model['W_out'].shape[0]}, d_h={self.model['h0'].shape[-1]})"


def log_softmax_rows(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


@S.composite
def prefix_tables(draw, *, max_vocab: int = 3, max_len: int = 3, dyadic: bool = True, normalised: bool = False):
    """(PrefixTable, L): a table model over V <= max_vocab tokens for L <= max_len steps."""
    V = draw(st.integers(1, max_vocab))
    L = draw(st.integers(1, max_len))
    el = st.integers(-32, 0).map(lambda i: i / 8.0) if dyadic else st.floats(-6.0, 0.0, allow_nan=False, width=64)
    table = draw(hnp.arrays(np.float64, (L, V ** (L - 1), V), elements=el))
    if normalised:
        table = log_softmax_rows(table)
    return PrefixTable(table), L


# -- inputs --------------------------------------------------------------------------------------------


def _arr(draw, shape, exact):
    return draw(S.arrays(shape, exact=exact))


@S.composite
def _rnn_forward_inputs(draw, exact: bool = False, batch: int | None = None):
    T, d_x, d_h = draw(st.integers(1, 3 if not exact else 2)), draw(S.dims(2)), draw(S.dims(2))
    return {"xs": _arr(draw, (T, d_x), exact), "h0": _arr(draw, (d_h,), exact), "W_hh": _arr(draw, (d_h, d_h), exact),
            "W_xh": _arr(draw, (d_h, d_x), exact), "b": _arr(draw, (d_h,), exact)}


@S.composite
def _context_inputs(draw, exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)
    return {"hs_enc": _arr(draw, lead + (draw(S.dims(4)), draw(S.dims(3))), exact)}


@S.composite
def _decoder_inputs(draw, exact: bool = False, batch: int | None = None, feed=None):
    lead = () if batch is None else (batch,)
    feed = feed or draw(st.sampled_from(["init", "concat"]))
    T, d_y, d_h = draw(st.integers(1, 2 if exact else 3)), draw(S.dims(2)), draw(S.dims(2))
    d_c = d_h if feed == "init" else draw(S.dims(2))
    d_in = d_y if feed == "init" else d_y + d_c
    return {"ys_prev": _arr(draw, lead + (T, d_y), exact), "c": _arr(draw, lead + (d_c,), exact),
            "W_hh": _arr(draw, (d_h, d_h), exact), "W_xh": _arr(draw, (d_h, d_in), exact),
            "b": _arr(draw, (d_h,), exact), "feed": feed}


@S.composite
def _output_inputs(draw, exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)
    d_h, V = draw(S.dims(3)), draw(S.dims(4))
    return {"h_dec": _arr(draw, lead + (d_h,), exact), "W": _arr(draw, (V, d_h), exact), "b": _arr(draw, (V,), exact)}


@S.composite
def _encoder_decoder_inputs(draw, exact: bool = False, batch: int | None = None):
    dec = draw(_decoder_inputs(exact=exact, feed="init"))
    d_h, V = dec["W_hh"].shape[0], draw(S.dims(2 if exact else 3))
    T_src = draw(st.integers(1, 3))
    return {"hs_enc": _arr(draw, (T_src, d_h), exact), "ys_prev": dec["ys_prev"], "W_hh": dec["W_hh"],
            "W_xh": dec["W_xh"], "b": dec["b"], "W_out": _arr(draw, (V, d_h), exact), "b_out": _arr(draw, (V,), exact),
            "feed": "init"}


@S.composite
def _additive_inputs(draw, exact: bool = False, batch: int | None = None):
    T_enc, d_h, d_s, d_a = (draw(S.dims(2 if exact else 3)) for _ in range(4))
    return {"h_enc": _arr(draw, (T_enc, d_h), exact), "s": _arr(draw, (d_s,), exact),
            "W1": _arr(draw, (d_a, d_h), exact), "W2": _arr(draw, (d_a, d_s), exact), "v": _arr(draw, (d_a,), exact)}


@S.composite
def _weights_inputs(draw, exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)
    rows, n = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    e = draw(hnp.arrays(np.float64, lead + (rows, n), elements=S.dyadic if exact else S.small_floats))
    mask = draw(st.none() | S.masks(rows, n))
    return {"e": e, "mask": mask}


@S.composite
def _context_weights_inputs(draw, exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)
    T, d = draw(S.dims(4)), draw(S.dims(3))
    w = draw(hnp.arrays(np.int64, lead + (T,), elements=st.integers(0, 8))).astype(np.float64)
    w[..., 0] += 1.0
    return {"alpha": w / w.sum(axis=-1, keepdims=True), "h_enc": _arr(draw, lead + (T, d), exact)}


@S.composite
def _bahdanau_inputs(draw, exact: bool = False, batch: int | None = None):
    a = draw(_additive_inputs(exact=exact))
    T = a["h_enc"].shape[0]
    mask = draw(st.none() | S.masks(1, T).map(lambda m: m[0]))
    return {"h_enc": a["h_enc"], "s_prev": a["s"], "W1": a["W1"], "W2": a["W2"], "v": a["v"], "mask": mask}


@S.composite
def _luong_general_inputs(draw, exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)
    T, d_dec, d_enc = draw(S.dims(3)), draw(S.dims(3)), draw(S.dims(3))
    return {"h_dec": _arr(draw, lead + (d_dec,), exact), "h_enc": _arr(draw, lead + (T, d_enc), exact),
            "W_a": _arr(draw, (d_dec, d_enc), exact)}


@S.composite
def _luong_dot_inputs(draw, exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)
    T, d = draw(S.dims(3)), draw(S.dims(3))
    return {"h_dec": _arr(draw, lead + (d,), exact), "h_enc": _arr(draw, lead + (T, d), exact)}


@S.composite
def _luong_concat_inputs(draw, exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)
    T, d_dec, d_enc, d_a = draw(S.dims(3)), draw(S.dims(2)), draw(S.dims(2)), draw(S.dims(2))
    return {"h_dec": _arr(draw, lead + (d_dec,), exact), "h_enc": _arr(draw, lead + (T, d_enc), exact),
            "W_a": _arr(draw, (d_a, d_dec + d_enc), exact), "v_a": _arr(draw, (d_a,), exact)}


@S.composite
def toy_decoders(draw, exact: bool = False, max_vocab: int = 3, max_len: int = 2):
    """An Elman decoder with embeddings and an output layer: dict(h0, E, W_hh, W_xh, b, W_out, b_out), V, T."""
    V, T, d_y, d_h = draw(st.integers(2, max_vocab)), draw(st.integers(1, max_len)), draw(S.dims(2)), draw(S.dims(2))
    m = {"h0": _arr(draw, (d_h,), exact), "E": _arr(draw, (V, d_y), exact), "W_hh": _arr(draw, (d_h, d_h), exact),
         "W_xh": _arr(draw, (d_h, d_y), exact), "b": _arr(draw, (d_h,), exact), "W_out": _arr(draw, (V, d_h), exact),
         "b_out": _arr(draw, (V,), exact)}
    return m, V, T


def _margins_ok(model, steps, bos=0, margin=1e-3):
    """Free running with NumPy: every step's top logit beats the runner-up by ``margin`` (no near-ties
    that float32 could flip)."""
    from reference.numpy.seq2seq import free_running_decode

    _, logits = free_running_decode(steps=steps, bos=bos, **model)
    top2 = np.sort(logits, axis=-1)[:, -2:]
    return bool(np.all(top2[:, 1] - top2[:, 0] > margin))


@S.composite
def _teacher_forcing_inputs(draw, exact: bool = False, batch: int | None = None):
    m, V, T = draw(toy_decoders(exact=exact))
    targets = draw(hnp.arrays(np.int64, (T,), elements=st.integers(0, V - 1)))
    return dict(m, targets=targets, bos=draw(st.integers(0, V - 1)))


@S.composite
def _free_running_inputs(draw, exact: bool = False, batch: int | None = None):
    m, V, T = draw(toy_decoders(exact=exact))
    bos = draw(st.integers(0, V - 1))
    assume(_margins_ok(m, T, bos))
    return dict(m, steps=T, bos=bos)


@S.composite
def _log_likelihood_inputs(draw, exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)
    T, V = draw(S.dims(3)), draw(S.dims(4))
    logits = draw(hnp.arrays(np.float64, lead + (T, V), elements=S.dyadic if exact else S.small_floats))
    targets = draw(hnp.arrays(np.int64, lead + (T,), elements=st.integers(0, V - 1)))
    return {"logits": logits, "targets": targets}


def _linear_inputs(exact: bool = False, batch: int | None = None):
    return st.fixed_dictionaries({"i": st.integers(0, 2000), "k": st.sampled_from([1.0, 0.875, 0.75]),
                                  "c": st.sampled_from([1e-3, 0.0078125, 0.125]), "epsilon": st.sampled_from([0.0, 0.05, 0.25])})


def _exponential_inputs(exact: bool = False, batch: int | None = None):
    return st.fixed_dictionaries({"i": st.integers(0, 400),
                                  "k": st.sampled_from([0.5, 0.75, 0.875, 0.9921875]) if exact
                                  else st.floats(0.01, 0.999, allow_nan=False, width=64)})


def _inverse_sigmoid_inputs(exact: bool = False, batch: int | None = None):
    return st.fixed_dictionaries({"i": st.integers(0, 3000),
                                  "k": st.sampled_from([1.0, 2.0, 10.0, 100.0, 250.0]) if exact
                                  else st.floats(1.0, 500.0, allow_nan=False, width=64)})


@S.composite
def _mix_inputs(draw, exact: bool = False, batch: int | None = None):
    n = draw(st.integers(1, 12))
    tok = hnp.arrays(np.int64, (n,), elements=st.integers(0, 9))
    return {"truth": draw(tok), "predicted": draw(tok), "p_truth": draw(st.sampled_from([0.0, 0.25, 0.5, 0.875, 1.0])),
            "seed": draw(st.integers(0, 2**16))}


@S.composite
def _greedy_inputs(draw, exact: bool = False, batch: int | None = None):
    step, L = draw(prefix_tables())
    V = step.V
    return {"step": step, "steps": L, "eos": draw(st.none() | st.integers(0, V - 1))}


def _length_normalisation_table() -> PrefixTable:
    """Two tokens (0 = <eos>), three steps: <eos> first has probability 0.4; the other token then <eos> has
    0.6 * 0.5 = 0.3. Unnormalised, the one-token hypothesis wins (log 0.4 > log 0.3); divided by the length
    (alpha = 1), the two-token one does (log 0.3 / 2 > log 0.4). A beam search that ignores alpha is caught
    here on every run, not only when a drawn table happens to separate the two rankings."""
    V, L = 2, 3
    table = np.zeros((L, V ** (L - 1), V))
    table[0, 0] = np.log([0.4, 0.6])
    table[1:] = np.log([0.5, 0.5])
    return PrefixTable(table)


@S.composite
def _beam_inputs(draw, exact: bool = False, batch: int | None = None):
    step, L = draw(prefix_tables())
    V = step.V
    return {"step": step, "steps": L, "beam_width": draw(st.integers(1, 4)),
            "eos": draw(st.none() | st.integers(0, V - 1)), "alpha": draw(st.sampled_from([0.0, 0.5, 1.0]))}


@S.composite
def _bidirectional_inputs(draw, exact: bool = False, batch: int | None = None):
    lead = () if batch is None else (batch,)
    T, d_f, d_b = draw(S.dims(3)), draw(S.dims(2)), draw(S.dims(2))
    return {"hs_forward": _arr(draw, lead + (T, d_f), exact), "hs_backward": _arr(draw, lead + (T, d_b), exact)}



# -- float32 rounding bounds (kappa, in units of u = 2^-24; see lmverify/tolerance.py) -------------------


def _a(x):
    return np.abs(np.asarray(x, dtype=np.float64))


def _kappa_rnn_forward(xs, h0, W_hh, W_xh, b):
    """Each Elman step's argument carries (n + 2) sum|W [h; x]| + |b| + 2 (n = d_h + d_x); tanh passes it with
    slope <= 1 and adds 2; the previous state's error enters through |W_hh| (row sums)."""
    from reference.numpy.recurrent import rnn_forward

    xs = np.asarray(xs, dtype=np.float64)
    hs = rnn_forward(xs, h0, W_hh, W_xh, b)
    W_hh, W_xh = _a(W_hh), _a(W_xh)
    n = W_hh.shape[-1] + W_xh.shape[-1]
    h_prev = _a(np.broadcast_to(h0, hs[..., 0, :].shape))
    err = np.zeros_like(h_prev)
    worst = 0.0
    for t in range(xs.shape[-2]):
        arg = (n + 2) * (h_prev @ W_hh.T + _a(xs[..., t, :]) @ W_xh.T) + _a(b) + 2
        err = arg + err @ W_hh.T + 2
        worst = max(worst, float(np.max(err, initial=0.0)))
        h_prev = _a(hs[..., t, :])
    return worst


def _kappa_decoder(ys_prev, c, W_hh, W_xh, b, feed="init"):
    ys_prev, c = np.asarray(ys_prev, dtype=np.float64), np.asarray(c, dtype=np.float64)
    if feed == "concat":
        lead = np.broadcast_shapes(ys_prev.shape[:-2], c.shape[:-1])
        cs = np.broadcast_to(c[..., None, :], lead + (ys_prev.shape[-2], c.shape[-1]))
        xs = np.concatenate([np.broadcast_to(ys_prev, lead + ys_prev.shape[-2:]), cs], axis=-1)
        return _kappa_rnn_forward(xs, np.zeros(lead + (np.shape(W_hh)[0],)), W_hh, W_xh, b)
    return _kappa_rnn_forward(ys_prev, c, W_hh, W_xh, b)


def _kappa_logits_softmax(logit_error):
    """softmax of logits carrying ``logit_error`` (units of u): weights move by 2 x that, plus (n + 2) normalising."""
    return 2.0 * logit_error + 8.0


def _kappa_output(h_dec, W, b):
    return _kappa_logits_softmax(tol.kappa_matmul(h_dec, np.swapaxes(np.asarray(W), -1, -2)) + float(np.max(_a(b), initial=0)) + np.shape(W)[0])


def _kappa_encoder_decoder(hs_enc, ys_prev, W_hh, W_xh, b, W_out, b_out, feed="init"):
    """c carries 1u (conversion); the decoder's state errors reach the logits through |W_out|."""
    from reference.numpy.seq2seq import decoder_forward

    c = np.asarray(hs_enc, dtype=np.float64)[..., -1, :]
    e_h = _kappa_decoder(ys_prev, c, W_hh, W_xh, b, feed) + 1.0
    hs = decoder_forward(ys_prev, c, W_hh, W_xh, b, feed)
    logit = tol.kappa_matmul(hs, np.swapaxes(np.asarray(W_out), -1, -2)) + e_h * float(np.max(_a(W_out).sum(-1)))
    return _kappa_logits_softmax(logit + float(np.max(_a(b_out), initial=0)))


def _kappa_weights(e, mask=None):
    e = np.asarray(e, dtype=np.float64)
    return tol.kappa_softmax(np.where(np.isfinite(e), e, 0.0))


def _kappa_context(alpha, h_enc):
    """sum_j alpha_j h_j: (T + 2) sum_j |alpha_j h_j| (each factor converted: 2u)."""
    a, H = _a(alpha), _a(h_enc)
    return float(np.max((a.shape[-1] + 2) * np.sum(a[..., :, None] * H, axis=-2), initial=0.0))


def _kappa_bahdanau(h_enc, s_prev, W1, W2, v, mask=None):
    """additive score error k_e; weights move by 2 k_e (+ normalising); context by that times max|h| + its own sum."""
    k_e = tol.kappa_additive(h_enc, s_prev, W1, W2, v)
    H = _a(h_enc)
    T = H.shape[-2]
    return float(np.max(H, initial=0.0) * (2 * k_e + 2 * T + 4) + (T + 2) * np.max(H, initial=0.0) + 1.0)


def _kappa_luong_general(h_dec, h_enc, W_a):
    """h^T W_a h_j as a sum of d_dec d_enc triple products, each converted (3u): (d_dec d_enc + 3) sum |h_i W_ik h_jk|."""
    h, H, W = _a(h_dec), _a(h_enc), _a(W_a)
    n = W.shape[0] * W.shape[1]
    return float(np.max((n + 3) * np.sum((H @ W.T) * h[..., None, :], axis=-1), initial=0.0))


def _kappa_luong_dot(h_dec, h_enc):
    h, H = _a(h_dec), _a(h_enc)
    return float(np.max((h.shape[-1] + 2) * np.sum(H * h[..., None, :], axis=-1), initial=0.0))


def _kappa_luong_concat(h_dec, h_enc, W_a, v_a):
    h, H, W, v = _a(h_dec), _a(h_enc), _a(W_a), _a(v_a)
    d_dec = h.shape[-1]
    A = H @ W[:, d_dec:].T + (h @ W[:, :d_dec].T)[..., None, :]
    arg = (W.shape[-1] + 2) * A + 2
    return float(np.max(arg @ v + (v.shape[-1] + 2) * v.sum(), initial=0.0))


def _kappa_log_likelihood(logits, targets):
    """log softmax per step: the logits' conversion and max shift (2u max|z|), the log-sum-exp ((V + 4) u);
    the T log-probabilities summed: (T + 2) u sum_t |log p_t|."""
    z = np.asarray(logits, dtype=np.float64)
    lp = log_softmax_rows(z)
    T, V = (z.shape[-2] if z.ndim >= 2 else 1), z.shape[-1]
    per = np.sum(2.0 * np.max(np.abs(z), axis=-1) + V + 4, axis=-1)
    return float(np.max(per + (T + 2) * np.sum(np.max(np.abs(lp), axis=-1), axis=-1), initial=0.0))


def _kappa_teacher_forcing(targets, h0, E, W_hh, W_xh, b, W_out, b_out, bos=0):
    from reference.numpy.recurrent import rnn_forward

    targets = np.asarray(targets).astype(np.int64)
    xs = np.asarray(E, dtype=np.float64)[np.concatenate([[int(bos)], targets[:-1]]).astype(np.int64)]
    e_h = _kappa_rnn_forward(xs, h0, W_hh, W_xh, b)
    hs = rnn_forward(xs, h0, W_hh, W_xh, b)
    return tol.kappa_matmul(hs, np.swapaxes(np.asarray(W_out), -1, -2)) + e_h * float(np.max(_a(W_out).sum(-1))) \
        + float(np.max(_a(b_out), initial=0))


def _kappa_free_running(h0, E, W_hh, W_xh, b, W_out, b_out, steps, bos=0):
    """Free running is teacher forcing on its own argmax path: the logits' bound is teacher forcing's on the
    tokens it decodes (the tokens are exact while no two logits tie within the bound)."""
    from reference.numpy.seq2seq import free_running_decode

    tokens, _ = free_running_decode(h0, E, W_hh, W_xh, b, W_out, b_out, steps, bos)
    if len(tokens) == 0:
        return 0.0
    return _kappa_teacher_forcing(tokens, h0, E, W_hh, W_xh, b, W_out, b_out, bos)


# -- known student mistakes (NumPy, same parameters) ------------------------------------------------------


def _softmax_np(z, axis=-1):
    """The attention topic's reference softmax, over ``axis`` (a mistake changes one thing only)."""
    from reference.numpy.attention import softmax

    return np.moveaxis(softmax(np.moveaxis(np.asarray(z, dtype=np.float64), axis, -1)), -1, axis)


def _weights_mask_after_softmax(e, mask=None):
    w = _softmax_np(e)
    return w if mask is None else np.where(mask, w, 0.0)


def _weights_over_steps(e, mask=None):
    e = np.asarray(e, dtype=np.float64)
    if mask is not None:
        e = np.where(mask, e, -np.inf)
    return _softmax_np(e, axis=0) if e.ndim > 1 else _softmax_np(e)


def _context_from_scores_unnormalised(alpha, h_enc):
    return np.asarray(alpha, dtype=np.float64) @ np.asarray(h_enc, dtype=np.float64) / np.asarray(alpha).shape[-1]


def _luong_general_transposed(h_dec, h_enc, W_a):
    return np.asarray(h_enc) @ np.asarray(W_a) @ np.asarray(h_dec)


def _tf_shifted_wrong(targets, h0, E, W_hh, W_xh, b, W_out, b_out, bos=0):
    from reference.numpy.recurrent import rnn_forward

    targets = np.asarray(targets).astype(np.int64)
    hs = rnn_forward(np.asarray(E)[targets], h0, W_hh, W_xh, b)  # feeds y_t instead of y_{t-1}
    return hs @ np.asarray(W_out).T + b_out


def _log_likelihood_raw_logits(logits, targets):
    t = np.asarray(targets).astype(np.int64)
    return np.sum(np.take_along_axis(np.asarray(logits, dtype=np.float64), t[..., None], axis=-1)[..., 0], axis=-1)


def _inverse_sigmoid_no_scale(i, k):
    return k / (k + np.exp(np.float64(i)))


def _exponential_one_minus(i, k):
    return 1.0 - np.float64(k) ** np.float64(i)


def _decoder_init_ignored(ys_prev, c, W_hh, W_xh, b, feed="init"):
    from reference.numpy.seq2seq import decoder_forward

    if feed == "init":
        return decoder_forward(ys_prev, np.zeros_like(np.asarray(c, dtype=np.float64)), W_hh, W_xh, b, feed)
    return decoder_forward(ys_prev, c, W_hh, W_xh, b, feed)


def _context_first_state(hs_enc):
    return np.asarray(hs_enc, dtype=np.float64)[..., 0, :]


# -- entries ------------------------------------------------------------------------------------------

_TANH_GRAD_AT = {"ys_prev": [[0.5, -1.0], [0.25, 0.75]], "c": [0.5, -0.25], "W_hh": [[0.5, -0.5], [0.25, 1.0]],
                 "W_xh": [[1.0, 0.5], [-0.5, 0.25]], "b": [0.125, -0.25], "feed": "init"}

EQUATIONS = (
    Equation(
        "seq2seq.encoder_recurrence",
        inputs=_rnn_forward_inputs,
        kappa=_kappa_rnn_forward,
        pinned=(Pinned("saturated tanh (pre-activations 1e3)", {"xs": np.array([[1e3], [-1e3]]), "h0": np.array([0.5]),
                                                                "W_hh": np.array([[1.0]]), "W_xh": np.array([[1.0]]),
                                                                "b": np.array([0.0])}),),
    ),
    Equation(
        "seq2seq.context_vector",
        inputs=_context_inputs,
        batch_args=("hs_enc",),
        pinned=(Pinned("the page's step-3 encoder states", {"hs_enc": PAGE_H_ENC}),),
        errors=(ErrorInput("no source positions", {"hs_enc": np.zeros((0, 2))}, ValueError, "T_src >= 1"),),
        mistakes=(Mistake("first state", "taking the FIRST encoder state h_1 instead of the last h_T", _context_first_state),),
    ),
    Equation(
        "seq2seq.decoder_recurrence",
        inputs=_decoder_inputs,
        kappa=_kappa_decoder,
        batch_args=("ys_prev", "c"),
        pinned=(
            Pinned("h_0 = c (init)", {"ys_prev": np.array([[0.5, -0.25], [0.5, 0.25]]), "c": np.array([0.75, -0.5]),
                                      "W_hh": np.array([[1.0, 0.5], [-0.5, 1.0]]), "W_xh": np.eye(2), "b": np.zeros(2),
                                      "feed": "init"}),
            Pinned("h_0 = c (init), large inputs", {"ys_prev": np.array([[1e3, -1e3], [0.5, 0.25]]), "c": np.array([0.5, -0.5]),
                                                    "W_hh": np.eye(2), "W_xh": np.eye(2), "b": np.zeros(2), "feed": "init"}),
            Pinned("c concatenated at every step", {"ys_prev": np.array([[0.5], [0.25]]), "c": np.array([1.0, -1.0]),
                                                    "W_hh": np.array([[0.5]]), "W_xh": np.array([[1.0, 0.5, -0.25]]),
                                                    "b": np.array([0.0]), "feed": "concat"}),
        ),
        errors=(
            ErrorInput("unknown feed", {"ys_prev": np.ones((1, 1)), "c": np.ones(1), "W_hh": np.eye(1), "W_xh": np.eye(1),
                                        "b": np.zeros(1), "feed": "sideways"}, ValueError, "feed must be 'init' or 'concat'"),
            ErrorInput("init with d_c != d_h", {"ys_prev": np.ones((1, 1)), "c": np.ones(2), "W_hh": np.eye(1),
                                                "W_xh": np.eye(1), "b": np.zeros(1), "feed": "init"}, ValueError, "d_h = 1"),
        ),
        mistakes=(Mistake("h_0 = 0", "starting the decoder from h_0 = 0 and never feeding c (feed='init' sets h_0 = c)",
                          _decoder_init_ignored),),
        grad=("W_hh", "c"),
        grad_at=_TANH_GRAD_AT,
    ),
    Equation(
        "seq2seq.output_distribution",
        inputs=_output_inputs,
        kappa=_kappa_output,
        batch_args=("h_dec",),
        pinned=(Pinned("logits of +-1e4", {"h_dec": np.array([1e2, -1e2]), "W": np.array([[100.0, 0.0], [0.0, 100.0]]),
                                           "b": np.array([0.0, 0.0])}),),
        grad=("h_dec", "W"),
        grad_at={"h_dec": [0.5, -1.0], "W": [[1.0, 0.5], [-0.5, 0.25], [0.0, 1.0]], "b": [0.0, 0.25, -0.5]},
    ),
    Equation(
        "seq2seq.encoder_decoder_context_feeding",
        kappa=_kappa_decoder,
        inputs=lambda exact=False, batch=None: _decoder_inputs(exact=exact, batch=batch, feed="concat"),
        batch_args=("ys_prev", "c"),
    ),
    Equation(
        "seq2seq.encoder_decoder_bottleneck",
        inputs=_encoder_decoder_inputs,
        kappa=_kappa_encoder_decoder,
    ),
    Equation(
        "seq2seq.bahdanau_score",
        inputs=_additive_inputs,
        kappa=tol.kappa_additive,
        pinned=(Pinned("saturated tanh (|W1 h| = 1e3)", {"h_enc": np.array([[1e3], [-1e3]]), "s": np.array([0.5]),
                                                         "W1": np.array([[1.0]]), "W2": np.array([[2.0]]), "v": np.array([3.0])}),),
    ),
    Equation(
        "seq2seq.bahdanau_weights",
        inputs=_weights_inputs,
        kappa=_kappa_weights,
        batch_args=("e",),
        pinned=(
            Pinned("the page's step-3 scores 0.5, 0.8, 0.44", {"e": PAGE_SCORES}),
            Pinned("scores of +-1e4 (no overflow)", {"e": np.array([[1e4, -1e4, 0.0], [1e4, 1e4 - 1, 1e4]])}),
            Pinned("two steps, a padded source position", {"e": np.array([[1.0, 2.0, 3.0], [0.5, -0.5, 0.25]]),
                                                           "mask": np.array([True, True, False])}),
        ),
        mistakes=(
            Mistake("mask after softmax", "zeroing the padded weights AFTER the softmax (the rest no longer sum to one)",
                    _weights_mask_after_softmax),
            Mistake("softmax over decoder steps", "a softmax over decoder steps t instead of source positions j",
                    _weights_over_steps),
        ),
        grad=("e",),
        grad_at={"e": [[0.5, 0.8, 0.44]]},
    ),
    Equation(
        "seq2seq.bahdanau_context",
        inputs=_context_weights_inputs,
        kappa=_kappa_context,
        batch_args=("alpha", "h_enc"),
        pinned=(Pinned("the page's step-3 weights and states",
                       {"alpha": np.exp(PAGE_SCORES) / np.exp(PAGE_SCORES).sum(), "h_enc": PAGE_H_ENC}),),
        errors=(ErrorInput("weights and states of different lengths", {"alpha": np.ones(2) / 2, "h_enc": np.ones((3, 1))},
                           ValueError, "source positions"),),
        mistakes=(Mistake("mean instead of weighted sum", "averaging alpha_j h_j over j (dividing by T_src) instead of summing",
                          _context_from_scores_unnormalised),),
    ),
    Equation(
        "seq2seq.bahdanau_attention",
        inputs=_bahdanau_inputs,
        kappa=_kappa_bahdanau,
        pinned=(Pinned("a padded position", {"h_enc": np.array([[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]), "s_prev": np.array([0.5]),
                                            "W1": np.array([[1.0, -1.0]]), "W2": np.array([[2.0]]), "v": np.array([1.5]),
                                            "mask": np.array([True, True, False])}),),
        grad=("h_enc", "s_prev"),
        grad_at={"h_enc": [[0.5, -1.0], [0.25, 0.75]], "s_prev": [1.0], "W1": [[1.0, 0.5]], "W2": [[-0.5]], "v": [2.0]},
    ),
    Equation(
        "seq2seq.luong_general_score",
        inputs=_luong_general_inputs,
        kappa=_kappa_luong_general,
        batch_args=("h_dec", "h_enc"),
        pinned=(Pinned("the page's step-3 states, a non-symmetric W_a",
                       {"h_dec": PAGE_H_DEC, "h_enc": PAGE_H_ENC, "W_a": np.array([[1.0, 2.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])}),
                Pinned("large magnitudes (1e15)", {"h_dec": np.array([1e15]), "h_enc": np.array([[1e15], [-2e15]]), "W_a": np.array([[2.0]])})),
        mistakes=(Mistake("W_a transposed", "h_j^T W_a h_dec (W_a transposed) instead of h_dec^T W_a h_j", _luong_general_transposed),),
        grad=("h_dec", "W_a"),
        grad_at={"h_dec": [0.5, -1.0], "h_enc": [[1.0, 0.5], [0.25, -0.75]], "W_a": [[1.0, 0.5], [-0.5, 0.25]]},
    ),
    Equation(
        "seq2seq.luong_dot_score",
        inputs=_luong_dot_inputs,
        kappa=_kappa_luong_dot,
        batch_args=("h_dec", "h_enc"),
        pinned=(Pinned("the page's step-3 states", {"h_dec": PAGE_H_DEC, "h_enc": PAGE_H_ENC}),),
        errors=(ErrorInput("dimensions differ", {"h_dec": np.ones(2), "h_enc": np.ones((3, 3))}, ValueError, "matching dimensions"),),
    ),
    Equation(
        "seq2seq.luong_concat_score",
        inputs=_luong_concat_inputs,
        kappa=_kappa_luong_concat,
        batch_args=("h_dec", "h_enc"),
    ),
    Equation(
        "seq2seq.teacher_forcing",
        inputs=_teacher_forcing_inputs,
        kappa=_kappa_teacher_forcing,
        pinned=(Pinned("three tokens", {"targets": np.array([2, 0, 1]), "h0": np.array([0.5, -0.5]),
                                        "E": np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]),
                                        "W_hh": np.array([[0.5, 0.25], [-0.25, 0.5]]), "W_xh": np.array([[1.0, -1.0], [0.5, 2.0]]),
                                        "b": np.array([0.0, 0.1]), "W_out": np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 1.0]]),
                                        "b_out": np.array([0.0, 0.0, 0.5]), "bos": 0}),),
        mistakes=(Mistake("inputs not shifted", "feeding y_t (the token to predict) instead of y_{t-1}", _tf_shifted_wrong),),
    ),
    Equation(
        "seq2seq.teacher_forcing_loss",
        inputs=_log_likelihood_inputs,
        kappa=_kappa_log_likelihood,
        batch_args=("logits", "targets"),
        pinned=(Pinned("logits of +-1e4", {"logits": np.array([[1e4, -1e4], [0.0, 1e4]]), "targets": np.array([1, 0])}),),
        mistakes=(Mistake("logits not normalised", "summing the raw logits of the targets, without the log-softmax "
                          "(log P(y_t) = z_{y_t} - log sum_v exp(z_v))", _log_likelihood_raw_logits),),
    ),
    Equation(
        "seq2seq.teacher_forcing_free_running",
        inputs=_free_running_inputs,
        kappa=_kappa_free_running,
    ),
    Equation(
        "seq2seq.scheduled_sampling_linear",
        inputs=_linear_inputs,
        pinned=(Pinned("at the floor", {"i": 10**6, "k": 1.0, "c": 1e-3, "epsilon": 0.05}),),
    ),
    Equation(
        "seq2seq.scheduled_sampling_exponential",
        inputs=_exponential_inputs,
        pinned=(Pinned("i = 0 gives 1", {"i": 0, "k": 0.5}), Pinned("k^1000 (tiny)", {"i": 1000, "k": 0.5})),
        errors=(ErrorInput("k >= 1", {"i": 3, "k": 1.5}, ValueError, r"k must be in \(0, 1\)"),),
        mistakes=(Mistake("1 - k^i", "1 - k^i (the probability of feeding the PREDICTION) instead of k^i", _exponential_one_minus),),
    ),
    Equation(
        "seq2seq.scheduled_sampling_inverse_sigmoid",
        inputs=_inverse_sigmoid_inputs,
        pinned=(Pinned("i = 0 gives k/(k+1)", {"i": 0, "k": 10.0}), Pinned("far out (exp(i/k) = e^100)", {"i": 10000, "k": 100.0}),
                Pinned("mid-schedule", {"i": 50, "k": 20.0})),
        errors=(ErrorInput("k < 1", {"i": 3, "k": 0.5}, ValueError, "k must be >= 1"),),
        mistakes=(Mistake("exp(i)", "exp(i) instead of exp(i / k)", _inverse_sigmoid_no_scale),),
    ),
    Equation(
        "seq2seq.scheduled_sampling_mix",
        inputs=_mix_inputs,
        errors=(ErrorInput("p_truth > 1", {"truth": np.array([1, 2]), "predicted": np.array([0, 0]), "p_truth": 1.5},
                           ValueError, r"p_truth must be in \[0, 1\]"),),
    ),
    Equation(
        "seq2seq.greedy_decoding",
        inputs=_greedy_inputs,
    ),
    Equation(
        "seq2seq.beam_search",
        inputs=_beam_inputs,
        pinned=(Pinned("length normalisation decides: <eos> at once (0.4) against a longer hypothesis (0.6 * 0.5)",
                       {"step": _length_normalisation_table(), "steps": 3, "beam_width": 2, "eos": 0, "alpha": 1.0},
                       exact=False),),
        errors=(ErrorInput("beam width 0", {"step": PrefixTable(np.zeros((1, 1, 2))), "steps": 1, "beam_width": 0},
                           ValueError, "beam_width must be >= 1"),),
    ),
    Equation(
        "seq2seq.bidirectional_encoder",
        inputs=_bidirectional_inputs,
        batch_args=("hs_forward", "hs_backward"),
    ),
)
