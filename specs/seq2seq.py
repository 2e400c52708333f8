"""Sequence to sequence, SymPy symbolic forms (course page: sequence_to_sequence.md).

Exact on rational inputs, one example per call (no batch axes): a sequence or a set of encoder
states is a ``sympy.Matrix`` with one row per position, a vector a 1-D ``sympy.Array`` (or any
sequence). The recurrent cells are the recurrent topic's (``specs.recurrent``), the additive
score and the softmax the attention topic's (``specs.attention``). Conventions as in
reference/numpy/seq2seq.py.

Also here: :func:`schedule_limits` (limits and monotonicity of the scheduled-sampling
schedules, by ``sympy.limit`` and the sign of the derivative) and
:func:`luong_dot_as_attention` (the dot score's context equals scaled dot-product attention
with the query multiplied by sqrt(d), exactly).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from lmverify.convert import to_sympy
from specs.attention import additive_score, scaled_dot_product_attention, softmax
from specs.recurrent import rnn_cell, rnn_forward

# -- helpers ----------------------------------------------------------------------------------------


def _vec(x):
    """A list of SymPy numbers from a 1-D Array, a one-row/one-column Matrix, or a sequence."""
    if isinstance(x, sp.MatrixBase):
        return list(x)
    if isinstance(x, sp.NDimArray):
        return [sp.sympify(v) for v in sp.flatten(x.tolist())] if x.rank() > 0 else [x[()]]
    if isinstance(x, np.ndarray):
        return [sp.sympify(v) if not isinstance(v, float) else sp.Rational(v) for v in x.ravel().tolist()]
    return [sp.sympify(v) for v in x]


def _arr1(values):
    values = list(values)
    return sp.ImmutableDenseNDimArray(values, (len(values),))


def _mat(X):
    if isinstance(X, sp.MatrixBase):
        return sp.Matrix(X)
    if isinstance(X, sp.NDimArray):
        if X.rank() == 1:
            return sp.Matrix([list(X)])
        return sp.Matrix(X.tolist())
    return sp.Matrix(X)


def _tokens(a, name, fn):
    vals = _vec(a) if not isinstance(a, (int, np.integer)) else [a]
    out = []
    for v in vals:
        v = sp.nsimplify(v) if not isinstance(v, sp.Basic) else v
        if not (v.is_number and v.is_integer):
            raise TypeError(f"{fn}: {name} must be integer token ids, got {v}")
        out.append(int(v))
    return out


def _argmax(values):
    """Index of the first maximum (exact expressions compared at 50 digits)."""
    nums = [sp.N(v, 50) for v in values]
    best = 0
    for j in range(1, len(nums)):
        if nums[j] > nums[best]:
            best = j
    return best


def _log_softmax(z):
    z = _vec(z)
    log_denom = sp.log(sum(sp.exp(v) for v in z))
    return [v - log_denom for v in z]


# -- the encoder-decoder ---------------------------------------------------------------------------


def context_vector(hs_enc):
    """c = h_{T_src}^enc: the last row of the encoder states."""
    H = _mat(hs_enc)
    if H.shape[0] == 0:
        raise ValueError("context_vector: hs_enc must be (T_src, d_h) with T_src >= 1")
    return _arr1(H[H.shape[0] - 1, :])


def decoder_forward(ys_prev, c, W_hh, W_xh, b, feed="init"):
    """h_t^dec = f_dec(y_{t-1}, h_{t-1}^dec) with the Elman cell; feed='init' (h_0 = c) or 'concat'."""
    Y = _mat(ys_prev)
    cv = _vec(c)
    W_hh = _mat(W_hh)
    d_h = W_hh.shape[0]
    if feed == "init":
        if len(cv) != d_h:
            raise ValueError(f"decoder_forward: feed='init' sets h_0 = c, so c needs d_h = {d_h} features, "
                             f"got {len(cv)}")
        return _mat(rnn_forward(Y, _arr1(cv), W_hh, _mat(W_xh), _arr1(_vec(b))))
    if feed == "concat":
        X = Y.row_join(sp.Matrix([cv] * Y.shape[0])) if Y.shape[0] else Y
        return _mat(rnn_forward(X, _arr1([0] * d_h), W_hh, _mat(W_xh), _arr1(_vec(b))))
    raise ValueError(f"decoder_forward: feed must be 'init' or 'concat', got {feed!r}")


def output_distribution(h_dec, W, b):
    """softmax(W h_t^dec + b): a 1-D Array for one state (a 1-D Array), a Matrix for several (rows of a Matrix)."""
    W, bv = _mat(W), _vec(b)
    if isinstance(h_dec, sp.MatrixBase):
        Z = sp.Matrix(h_dec) * W.T + sp.Matrix([bv] * h_dec.shape[0])
        return softmax(Z)
    z = W * sp.Matrix(_vec(h_dec))
    return softmax(_arr1([z[i] + bv[i] for i in range(len(bv))]))


def encoder_decoder_distributions(hs_enc, ys_prev, W_hh, W_xh, b, W_out, b_out, feed="init"):
    """The vanilla encoder-decoder's next-token distributions (T, V); the source enters only through c."""
    c = context_vector(hs_enc)
    return output_distribution(decoder_forward(ys_prev, c, W_hh, W_xh, b, feed), W_out, b_out)


# -- attention -------------------------------------------------------------------------------------


def alignment_weights(e, mask=None):
    """alpha_j = exp(e_j) / sum_k exp(e_k); masked positions (keep-mask False) get exactly 0.

    One row of scores (a 1-D Array) or several (a Matrix, one decoder step per row).
    """
    if isinstance(e, sp.MatrixBase):
        Z = sp.Matrix(e)
        if mask is not None:
            m = np.broadcast_to(np.asarray(mask, dtype=bool), Z.shape)
            Z = sp.Matrix(Z.shape[0], Z.shape[1], lambda i, j: Z[i, j] if m[i, j] else -sp.oo)
        return softmax(Z)
    z = _vec(e)
    if mask is not None:
        m = np.broadcast_to(np.asarray(mask, dtype=bool), (len(z),))
        z = [v if m[j] else -sp.oo for j, v in enumerate(z)]
    return softmax(_arr1(z))


def context_from_weights(alpha, h_enc):
    """c_t = sum_j alpha_{t,j} h_j^enc: a 1-D Array for one row of weights, a Matrix for several."""
    H = _mat(h_enc)
    if isinstance(alpha, sp.MatrixBase) and alpha.shape[0] > 1:
        if alpha.shape[1] != H.shape[0]:
            raise ValueError(f"context_from_weights: alpha has {alpha.shape[1]} source positions but h_enc has {H.shape[0]}")
        return sp.Matrix(alpha) * H
    a = _vec(alpha)
    if len(a) != H.shape[0]:
        raise ValueError(f"context_from_weights: alpha has {len(a)} source positions but h_enc has {H.shape[0]}")
    return _arr1(sum((a[j] * H[j, :] for j in range(H.shape[0])), sp.zeros(1, H.shape[1])))


def bahdanau_attention(h_enc, s_prev, W1, W2, v, mask=None):
    """Bahdanau attention at one decoder step -> (c_t, alpha)."""
    e = additive_score(_mat(h_enc), s_prev, _mat(W1), _mat(W2), v)
    alpha = alignment_weights(_arr1(_vec(e)), mask)
    return context_from_weights(alpha, h_enc), alpha


def luong_general_score(h_dec, h_enc, W_a):
    """e_j = (h_t^dec)^T W_a h_j^enc, one per row of h_enc."""
    H, W_a, h = _mat(h_enc), _mat(W_a), sp.Matrix(_vec(h_dec))
    return _arr1([(h.T * W_a * H[j, :].T)[0, 0] for j in range(H.shape[0])])


def luong_dot_score(h_dec, h_enc):
    """e_j = (h_t^dec)^T h_j^enc."""
    H, h = _mat(h_enc), sp.Matrix(_vec(h_dec))
    if H.shape[1] != h.shape[0]:
        raise ValueError(f"luong_dot_score: the dot score needs matching dimensions, got h_dec ({h.shape[0]},) "
                         f"and h_enc {H.shape}")
    return _arr1([(h.T * H[j, :].T)[0, 0] for j in range(H.shape[0])])


def luong_concat_score(h_dec, h_enc, W_a, v_a):
    """e_j = v_a^T tanh(W_a [h_t^dec; h_j^enc])."""
    H, W_a, h, v = _mat(h_enc), _mat(W_a), _vec(h_dec), sp.Matrix(_vec(v_a))
    out = []
    for j in range(H.shape[0]):
        pre = W_a * sp.Matrix(h + list(H[j, :]))
        out.append((v.T * pre.applyfunc(sp.tanh))[0, 0])
    return _arr1(out)


def luong_dot_as_attention(h_dec, h_enc):
    """The dot score's context through the attention topic's scaled dot-product attention:
    one query q = sqrt(d) h_dec (so q.k / sqrt(d) = h_dec.k, no scaling left), K = V = h_enc.
    Returns (context (1-D Array), weights (1-D Array))."""
    H, h = _mat(h_enc), _vec(h_dec)
    d = H.shape[1]
    out, W = scaled_dot_product_attention(sp.Matrix([[sp.sqrt(d) * x for x in h]]), H, H)
    return _arr1(out[0, :]), _arr1(W[0, :])


# -- teacher forcing and free running ---------------------------------------------------------------


def teacher_forcing_logits(targets, h0, E, W_hh, W_xh, b, W_out, b_out, bos=0):
    """Teacher forcing: input at step t is the true y_{t-1} (y_0 = bos) -> logits Matrix (T, V)."""
    ys = _tokens(targets, "targets", "teacher_forcing_logits")
    E = _mat(E)
    inputs = [int(bos)] + ys[:-1]
    X = sp.Matrix([list(E[i, :]) for i in inputs])
    H = _mat(rnn_forward(X, _arr1(_vec(h0)), _mat(W_hh), _mat(W_xh), _arr1(_vec(b))))
    return H * _mat(W_out).T + sp.Matrix([_vec(b_out)] * H.shape[0])


def free_running_decode(h0, E, W_hh, W_xh, b, W_out, b_out, steps, bos=0):
    """Free running: feed back the argmax (y_0 = bos) -> (tokens (1-D Array), logits Matrix (steps, V))."""
    E, W_out, bo = _mat(E), _mat(W_out), _vec(b_out)
    h, y = _arr1(_vec(h0)), int(bos)
    tokens, logits = [], []
    for _ in range(int(steps)):
        h = _arr1(_vec(rnn_cell(_arr1(list(E[y, :])), h, _mat(W_hh), _mat(W_xh), _arr1(_vec(b)))))
        z = W_out * sp.Matrix(_vec(h))
        z = [z[i] + bo[i] for i in range(len(bo))]
        y = _argmax(z)
        tokens.append(y)
        logits.append(z)
    return _arr1(tokens), sp.Matrix(logits)


def sequence_log_likelihood(logits, targets):
    """log P(y_1..y_T) = sum_t log softmax(logits_t)[y_t]."""
    Z = _mat(logits)
    ys = _tokens(targets, "targets", "sequence_log_likelihood")
    return sum((_log_softmax(Z[t, :])[ys[t]] for t in range(Z.shape[0])), sp.Integer(0))


# -- scheduled sampling ---------------------------------------------------------------------------


def scheduled_sampling_linear(i, k, c, epsilon):
    """epsilon_i = max(epsilon, k - c i)."""
    return sp.Max(sp.sympify(epsilon), sp.sympify(k) - sp.sympify(c) * sp.sympify(i))


def scheduled_sampling_exponential(i, k):
    """epsilon_i = k^i with 0 < k < 1."""
    k = sp.sympify(k)
    if k.is_number and not (0 < k < 1):
        raise ValueError(f"scheduled_sampling_exponential: k must be in (0, 1), got {k}")
    return k ** sp.sympify(i)


def scheduled_sampling_inverse_sigmoid(i, k):
    """epsilon_i = k / (k + exp(i / k)) with k >= 1."""
    k = sp.sympify(k)
    if k.is_number and not k >= 1:
        raise ValueError(f"scheduled_sampling_inverse_sigmoid: k must be >= 1, got {k}")
    return k / (k + sp.exp(sp.sympify(i) / k))


def schedule_limits():
    """For each schedule: (its derivative in i, its limit as i -> oo), with symbolic parameters.

    linear (before the floor): d/di = -c < 0, and the floor epsilon is reached at i = (k - epsilon)/c;
    exponential: d/di = k^i log k < 0 for 0 < k < 1, limit 0; inverse sigmoid: derivative < 0,
    limit 0, value at i = 0 equal to k / (k + 1).
    """
    i = sp.Symbol("i", nonnegative=True)
    k_lin, c, eps = sp.symbols("k c epsilon", positive=True)
    k_exp = sp.Symbol("k", positive=True)
    k_sig = sp.Symbol("k", positive=True)
    lin = k_lin - c * i
    exp_ = k_exp**i
    sig = k_sig / (k_sig + sp.exp(i / k_sig))
    return {
        "linear": (sp.diff(lin, i), sp.solve(sp.Eq(lin, eps), i)[0]),
        "exponential": (sp.simplify(sp.diff(exp_, i)), sp.limit(exp_.subs(k_exp, sp.Rational(1, 2)), i, sp.oo)),
        "inverse_sigmoid": (sp.simplify(sp.diff(sig, i)), sp.limit(sig, i, sp.oo), sig.subs(i, 0)),
    }


def scheduled_sampling_mix(truth, predicted, p_truth, seed=0):
    """Feed the truth where u < p_truth (u from numpy default_rng(seed), compared exactly) -> (inputs, used_truth)."""
    t = _tokens(truth, "truth", "scheduled_sampling_mix")
    p = _tokens(predicted, "predicted", "scheduled_sampling_mix")
    if len(t) != len(p):
        raise ValueError(f"scheduled_sampling_mix: truth ({len(t)}) and predicted ({len(p)}) must have one shape")
    p_truth = sp.sympify(p_truth)
    if not (0 <= p_truth <= 1):
        raise ValueError(f"scheduled_sampling_mix: p_truth must be in [0, 1], got {p_truth}")
    u = np.random.default_rng(int(seed)).random(len(t))
    used = [bool(sp.Rational(float(x)) < p_truth) for x in u]
    return _arr1([t[j] if used[j] else p[j] for j in range(len(t))]), np.asarray(used)


# -- decoding -------------------------------------------------------------------------------------


def _step_log_probs(step, prefix):
    lp = step(tuple(prefix))
    vals = [to_sympy(float(v)) if isinstance(v, (float, np.floating)) else sp.sympify(v) for v in
            (np.asarray(lp, dtype=object).ravel() if not isinstance(lp, (sp.MatrixBase, sp.NDimArray)) else _vec(lp))]
    if not vals:
        raise ValueError("step must return a 1-D vector of log-probabilities, got an empty one")
    return vals


def greedy_decode(step, steps, eos=None):
    """Greedy decoding, exactly -> (tokens, score = the exact sum of their log-probabilities)."""
    tokens, score = [], sp.Integer(0)
    for _ in range(int(steps)):
        lp = _step_log_probs(step, tokens)
        y = _argmax(lp)
        tokens.append(y)
        score += lp[y]
        if eos is not None and y == eos:
            break
    return _arr1(tokens), score


def beam_search(step, steps, beam_width, eos=None, alpha=0):
    """Beam search ranked by s / L**alpha, exactly -> (tokens of the best hypothesis, its sum of log-probabilities)."""
    if int(beam_width) < 1:
        raise ValueError(f"beam_search: beam_width must be >= 1, got {beam_width!r}")
    alpha = sp.sympify(alpha)
    rank = lambda h: sp.N(h[1] / sp.Integer(len(h[0])) ** alpha if alpha else h[1], 50)  # noqa: E731
    beam = [((), sp.Integer(0))]
    for _ in range(int(steps)):
        candidates = []
        for prefix, s in beam:
            if eos is not None and prefix and prefix[-1] == eos:
                candidates.append((prefix, s))
                continue
            lp = _step_log_probs(step, prefix)
            for y in range(len(lp)):
                candidates.append((prefix + (y,), s + lp[y]))
        order = sorted(range(len(candidates)), key=lambda n: -rank(candidates[n]))
        beam = [candidates[n] for n in order[: int(beam_width)]]
    best = beam[0]
    return _arr1(best[0]), best[1]
