"""Sequence to sequence, NumPy float64 reference (course page: sequence_to_sequence.md).

One function per equation of the page. The recurrent cells are the recurrent topic's
(``reference.numpy.recurrent``: ``rnn_cell``, ``rnn_forward``, ``lstm_forward``, ``gru_forward``,
``bidirectional_concat``); the additive (Bahdanau) score and the softmax are the attention
topic's (``additive_score``, ``softmax``). Nothing here is a second RNN, LSTM or GRU.

Conventions (tested in tests/test_seq2seq*.py):

* vectors are rows; sequences have time on the second-to-last axis, (..., T, d);
* the encoder-decoder of this module uses the Elman cell h_t = tanh(W_hh h_{t-1} + W_xh x_t + b)
  for its decoder (the encoder may be any recurrent cell: the encoder's states are an input);
* the two ways of feeding the context c (page line 50): ``feed="init"`` sets h_0^dec = c and
  feeds y_{t-1} alone; ``feed="concat"`` starts from h_0^dec = 0 and feeds [y_{t-1}; c] at every
  step. They are different models; for one step they coincide when the concat model's weights on
  c equal W_hh (tests/test_seq2seq.py);
* attention masks are boolean *keep* masks over source positions (True = may attend), as in the
  attention topic: a masked score is -inf, so its weight is exactly 0;
* decoding: ``step(prefix)`` is any function from the tuple of tokens produced so far (without
  the start token) to a vector of log-probabilities over the vocabulary; a sequence's score is
  the sum of its log-probabilities; ties go to the lower token id (and, between hypotheses, to
  the one found first).
"""

from __future__ import annotations

import numpy as np

from reference.numpy.attention import additive_score, softmax
from reference.numpy.recurrent import rnn_cell, rnn_forward
from reference.numpy._common import check_scalar
from reference.numpy._common import log_softmax as _log_softmax

# -- helpers ----------------------------------------------------------------------------------------


def _tokens(a, name, fn):
    """Integer token ids (float arrays holding whole numbers are accepted, as backends pass them)."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        if not (np.all(np.isfinite(a)) and np.all(a == np.round(a))):
            raise TypeError(f"{fn}: {name} must be integer token ids, got {a!r}")
        a = a.astype(np.int64)
    elif a.dtype.kind not in "iu":
        raise TypeError(f"{fn}: {name} must be integer token ids, got dtype {a.dtype}")
    return a


# -- the encoder-decoder ---------------------------------------------------------------------------


def context_vector(hs_enc):
    """c = h_{T_src}^enc: the last encoder state. hs_enc: (..., T_src, d_h) -> (..., d_h)."""
    hs_enc = np.asarray(hs_enc, dtype=np.float64)
    if hs_enc.ndim < 2 or hs_enc.shape[-2] == 0:
        raise ValueError(f"context_vector: hs_enc must be (..., T_src, d_h) with T_src >= 1, got shape {hs_enc.shape}")
    return hs_enc[..., -1, :]


def decoder_forward(ys_prev, c, W_hh, W_xh, b, feed="init"):
    """h_t^dec = f_dec(y_{t-1}, h_{t-1}^dec) for t = 1..T with the Elman cell, fed the context c.

    ys_prev: (..., T, d_y) the embeddings of y_0 (<sos>), ..., y_{T-1}; c: (..., d_c).
    feed="init": h_0^dec = c (needs d_c = d_h), input y_{t-1}; W_xh: (d_h, d_y).
    feed="concat": h_0^dec = 0, input [y_{t-1}; c] at every step; W_xh: (d_h, d_y + d_c).
    W_hh: (d_h, d_h), b: (d_h,). Returns hs_dec (..., T, d_h).
    """
    ys_prev = np.asarray(ys_prev, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    W_hh = np.asarray(W_hh, dtype=np.float64)
    d_h = W_hh.shape[0]
    if ys_prev.ndim < 2:
        raise ValueError(f"decoder_forward: ys_prev must be (..., T, d_y), got shape {ys_prev.shape}")
    if feed == "init":
        if c.shape[-1] != d_h:
            raise ValueError(f"decoder_forward: feed='init' sets h_0 = c, so c needs d_h = {d_h} features, "
                             f"got shape {c.shape}")
        return rnn_forward(ys_prev, c, W_hh, W_xh, b)
    if feed == "concat":
        lead = np.broadcast_shapes(ys_prev.shape[:-2], c.shape[:-1])
        T = ys_prev.shape[-2]
        cs = np.broadcast_to(c[..., None, :], lead + (T, c.shape[-1]))
        xs = np.concatenate([np.broadcast_to(ys_prev, lead + ys_prev.shape[-2:]), cs], axis=-1)
        return rnn_forward(xs, np.zeros(lead + (d_h,)), W_hh, W_xh, b)
    raise ValueError(f"decoder_forward: feed must be 'init' or 'concat', got {feed!r}")


def output_distribution(h_dec, W, b):
    """P(y_t | y_<t, c) = softmax(W h_t^dec + b). h_dec: (..., d_h), W: (V, d_h), b: (V,) -> (..., V)."""
    return softmax(np.asarray(h_dec, dtype=np.float64) @ np.asarray(W, dtype=np.float64).T + b)


def encoder_decoder_distributions(hs_enc, ys_prev, W_hh, W_xh, b, W_out, b_out, feed="init"):
    """The vanilla encoder-decoder's next-token distributions: c = h_T^enc, decoder, softmax.

    hs_enc: (..., T_src, d_e) the encoder's states (any recurrent cell); ys_prev: (..., T, d_y);
    decoder weights as in :func:`decoder_forward`; W_out: (V, d_h), b_out: (V,) -> (..., T, V).
    The source enters only through c = context_vector(hs_enc) (the bottleneck).
    """
    c = context_vector(hs_enc)
    return output_distribution(decoder_forward(ys_prev, c, W_hh, W_xh, b, feed), W_out, b_out)


# -- attention -------------------------------------------------------------------------------------


def alignment_weights(e, mask=None):
    """alpha_{t,j} = exp(e_{t,j}) / sum_k exp(e_{t,k}) over source positions (last axis).

    e: (..., T_src) scores; mask: boolean keep-mask (True = may attend) broadcastable to e;
    a masked position gets weight exactly 0 (score -inf), a fully masked row all zeros.
    """
    e = np.asarray(e, dtype=np.float64)
    if mask is not None:
        e = np.where(np.asarray(mask, dtype=bool), e, -np.inf)
    return softmax(e)


def context_from_weights(alpha, h_enc):
    """c_t = sum_j alpha_{t,j} h_j^enc. alpha: (..., T_src), h_enc: (..., T_src, d) -> (..., d)."""
    alpha, h_enc = np.asarray(alpha, dtype=np.float64), np.asarray(h_enc, dtype=np.float64)
    if alpha.shape[-1] != h_enc.shape[-2]:
        raise ValueError(f"context_from_weights: alpha has {alpha.shape[-1]} source positions but h_enc has "
                         f"{h_enc.shape[-2]} (alpha {alpha.shape}, h_enc {h_enc.shape})")
    return np.sum(alpha[..., :, None] * h_enc, axis=-2)


def bahdanau_attention(h_enc, s_prev, W1, W2, v, mask=None):
    """Bahdanau attention at one decoder step: scores, weights, context -> (c_t (d_h,), alpha (T_src,)).

    e_j = v^T tanh(W1 h_j^enc + W2 h_{t-1}^dec) (attention.additive_score), alpha = softmax over j
    (masked positions 0), c_t = sum_j alpha_j h_j^enc. h_enc: (T_src, d_h), s_prev: (d_s,).
    """
    e = additive_score(np.asarray(h_enc, dtype=np.float64), np.asarray(s_prev, dtype=np.float64),
                       np.asarray(W1, dtype=np.float64), np.asarray(W2, dtype=np.float64),
                       np.asarray(v, dtype=np.float64))
    alpha = alignment_weights(e, mask)
    return context_from_weights(alpha, h_enc), alpha


def luong_general_score(h_dec, h_enc, W_a):
    """e_{t,j} = (h_t^dec)^T W_a h_j^enc. h_dec: (..., d_dec), h_enc: (..., T_src, d_enc),
    W_a: (d_dec, d_enc) -> (..., T_src)."""
    h_dec, h_enc = np.asarray(h_dec, dtype=np.float64), np.asarray(h_enc, dtype=np.float64)
    return np.sum((h_enc @ np.asarray(W_a, dtype=np.float64).T) * h_dec[..., None, :], axis=-1)


def luong_dot_score(h_dec, h_enc):
    """e_{t,j} = (h_t^dec)^T h_j^enc (dimensions must match). h_dec: (..., d), h_enc: (..., T_src, d)."""
    h_dec, h_enc = np.asarray(h_dec, dtype=np.float64), np.asarray(h_enc, dtype=np.float64)
    if h_dec.shape[-1] != h_enc.shape[-1]:
        raise ValueError(f"luong_dot_score: the dot score needs matching dimensions, got h_dec {h_dec.shape} "
                         f"and h_enc {h_enc.shape}")
    return np.sum(h_enc * h_dec[..., None, :], axis=-1)


def luong_concat_score(h_dec, h_enc, W_a, v_a):
    """Luong et al.'s concat score e_{t,j} = v_a^T tanh(W_a [h_t^dec; h_j^enc]) (not printed on the page).

    h_dec: (..., d_dec), h_enc: (..., T_src, d_enc), W_a: (d_a, d_dec + d_enc), v_a: (d_a,) -> (..., T_src).
    """
    h_dec, h_enc = np.asarray(h_dec, dtype=np.float64), np.asarray(h_enc, dtype=np.float64)
    lead = np.broadcast_shapes(h_dec.shape[:-1], h_enc.shape[:-2])
    T = h_enc.shape[-2]
    hd = np.broadcast_to(h_dec[..., None, :], lead + (T, h_dec.shape[-1]))
    he = np.broadcast_to(h_enc, lead + h_enc.shape[-2:])
    return np.tanh(np.concatenate([hd, he], axis=-1) @ np.asarray(W_a, dtype=np.float64).T) @ np.asarray(v_a, dtype=np.float64)


# -- teacher forcing and free running ---------------------------------------------------------------


def teacher_forcing_logits(targets, h0, E, W_hh, W_xh, b, W_out, b_out, bos=0):
    """Teacher forcing: the decoder's input at step t is the TRUE y_{t-1} (y_0 = bos).

    targets: (T,) token ids y_1..y_T; h0: (d_h,); E: (V, d_y) embeddings; Elman cell W_hh, W_xh, b;
    W_out: (V, d_h), b_out: (V,). Returns the logits (T, V) of P(y_t | y_<t) (softmax of each row).
    """
    targets = _tokens(targets, "targets", "teacher_forcing_logits")
    E = np.asarray(E, dtype=np.float64)
    bos = check_token_id("teacher_forcing_logits", "bos", bos, E.shape[0])
    if targets.size and ((targets < 0).any() or (targets >= E.shape[0]).any()):
        raise ValueError(f"teacher_forcing_logits: targets must be token ids in [0, {E.shape[0]}) (rows of E), "
                         f"got {targets.tolist()}")
    inputs = np.concatenate([[bos], targets[:-1]]).astype(np.int64)
    hs = rnn_forward(E[inputs], h0, W_hh, W_xh, b)
    return hs @ np.asarray(W_out, dtype=np.float64).T + b_out


def free_running_decode(h0, E, W_hh, W_xh, b, W_out, b_out, steps, bos=0):
    """Free running: the decoder feeds back its own argmax y_hat_{t-1} (y_0 = bos), for ``steps`` steps.

    Same weights as :func:`teacher_forcing_logits`. Returns (tokens (steps,) as float64 ids,
    logits (steps, V)). Ties go to the lower token id.
    """
    E = np.asarray(E, dtype=np.float64)
    W_out = np.asarray(W_out, dtype=np.float64)
    steps = check_count("free_running_decode", "steps", steps, 0)
    y = check_token_id("free_running_decode", "bos", bos, E.shape[0])
    h = np.asarray(h0, dtype=np.float64)
    tokens, logits = [], []
    for t in range(steps):
        h = rnn_cell(E[y], h, W_hh, W_xh, b)
        z = h @ W_out.T + b_out
        check_argmax("free_running_decode", "logits", z, t)
        y = int(np.argmax(z))
        tokens.append(y)
        logits.append(z)
    return np.asarray(tokens, dtype=np.float64), (np.stack(logits) if logits else np.zeros((0, W_out.shape[0])))


def check_targets(fn, targets, logits_shape):
    """Token ids in [0, V) with shape logits.shape[:-1] (a negative id would index from the end); shared by both forms."""
    logits_shape, t_shape = tuple(logits_shape), tuple(targets.shape)
    if len(logits_shape) < 1 or t_shape != logits_shape[:-1]:
        raise ValueError(f"{fn}: targets must have shape logits.shape[:-1] = {logits_shape[:-1]}, got {t_shape}")
    V = logits_shape[-1]
    if t_shape and ((targets < 0).any() or (targets >= V).any()):
        raise ValueError(f"{fn}: targets must be token ids in [0, {V}), got {targets.tolist()}")


def check_argmax(fn, what, scores, step):
    """Refuse by name an argmax over ``scores`` where a score is NaN: the chosen token, and every step fed
    with it, would be an accident of NaN's ordering. Shared by both forms."""
    bad = np.isnan(np.asarray(scores, dtype=np.float64))
    if bad.any():
        raise ValueError(f"{fn}: the {what} at step {step + 1} hold NaN (at token ids {np.flatnonzero(bad)[:5].tolist()}; "
                         "NaN in the inputs): the argmax, and the token fed to the next step, is undefined")


def check_token_id(fn, name, y, V):
    """One token id in [0, V): a negative id would silently pick a row from the end."""
    if isinstance(y, (bool, np.bool_)) or not float(y) == int(y) or not 0 <= int(y) < V:
        raise ValueError(f"{fn}: {name} must be a token id in [0, {V}), got {y!r}")
    return int(y)


def check_count(fn, name, n, minimum):
    """A count argument (steps, beam_width): an integer >= minimum; float inf or 2.5 is a named error, not int()."""
    ok = not isinstance(n, (bool, np.bool_))
    if ok and not isinstance(n, (int, np.integer)):
        try:
            ok = float(n) == int(n)
        except (TypeError, ValueError, OverflowError):
            ok = False
    if not ok or int(n) < minimum:
        raise ValueError(f"{fn}: {name} must be >= {minimum} (an integer), got {n!r}")
    return int(n)


def sequence_log_likelihood(logits, targets):
    """log P(y_1..y_T) = sum_t log softmax(logits_t)[y_t]. logits: (..., T, V), targets: (..., T) -> (...)."""
    targets = _tokens(targets, "targets", "sequence_log_likelihood")
    lp = _log_softmax(logits)
    check_targets("sequence_log_likelihood", targets, lp.shape)
    return np.sum(np.take_along_axis(lp, targets[..., None], axis=-1)[..., 0], axis=-1)


# -- scheduled sampling (Bengio et al. 2015) ---------------------------------------------------------


def check_schedule(fn, i, **params):
    """The training step i: >= 0 (no NaN); k of the linear schedule and epsilon in [0, 1], the slope c >= 0:
    otherwise epsilon_i is no probability. Shared by both forms."""
    steps = np.asarray(i.detach().cpu().numpy() if hasattr(i, "detach") else i, dtype=np.float64)
    if np.isnan(steps).any() or (steps < 0).any():
        raise ValueError(f"{fn}: the training step i must be >= 0 (no NaN), got {i!r}")
    for name, val in params.items():
        if name == "c":
            check_scalar(fn, name, val, low=0)
        else:
            check_scalar(fn, name, val, low=0, high=1)


def scheduled_sampling_linear(i, k, c, epsilon):
    """epsilon_i = max(epsilon, k - c i): the probability of feeding the truth at training step i."""
    check_schedule("scheduled_sampling_linear", i, k=k, c=c, epsilon=epsilon)
    return np.maximum(np.float64(epsilon), np.float64(k) - np.float64(c) * np.asarray(i, dtype=np.float64))


def scheduled_sampling_exponential(i, k):
    """epsilon_i = k^i with 0 < k < 1."""
    if not 0 < k < 1:
        raise ValueError(f"scheduled_sampling_exponential: k must be in (0, 1), got {k!r}")
    check_schedule("scheduled_sampling_exponential", i)
    return np.float64(k) ** np.asarray(i, dtype=np.float64)


def scheduled_sampling_inverse_sigmoid(i, k):
    """epsilon_i = k / (k + exp(i / k)) with k >= 1."""
    if not k >= 1:
        raise ValueError(f"scheduled_sampling_inverse_sigmoid: k must be >= 1, got {k!r}")
    check_schedule("scheduled_sampling_inverse_sigmoid", i)
    k = np.float64(k)
    ke = k * np.exp(-np.asarray(i, dtype=np.float64) / k)  # = k / exp(i/k): no overflow for i >= 0
    return ke / (ke + 1.0)


def scheduled_sampling_mix(truth, predicted, p_truth, seed=0):
    """Feed the truth with probability p_truth, else the model's prediction, independently per position.

    truth, predicted: token ids of one shape; p_truth in [0, 1]; the coins are u < p_truth with
    u ~ U[0, 1) from numpy.random.default_rng(seed) (the same draws in every backend).
    Returns (inputs, used_truth) with used_truth a boolean array.
    """
    truth = _tokens(truth, "truth", "scheduled_sampling_mix")
    predicted = _tokens(predicted, "predicted", "scheduled_sampling_mix")
    if truth.shape != predicted.shape:
        raise ValueError(f"scheduled_sampling_mix: truth {truth.shape} and predicted {predicted.shape} must have one shape")
    if not 0 <= p_truth <= 1:
        raise ValueError(f"scheduled_sampling_mix: p_truth must be in [0, 1], got {p_truth!r}")
    seed = check_scalar("scheduled_sampling_mix", "seed", seed, low=0, integer=True)
    u = np.random.default_rng(seed).random(truth.shape)
    used = u < p_truth
    return np.where(used, truth, predicted).astype(np.float64), used


# -- decoding -------------------------------------------------------------------------------------


def _step_log_probs(step, prefix):
    lp = np.asarray(step(tuple(prefix)), dtype=np.float64)
    if lp.ndim != 1 or lp.size == 0:
        raise ValueError(f"step must return a 1-D vector of log-probabilities, got shape {lp.shape}")
    return lp


def greedy_decode(step, steps, eos=None):
    """y_hat_t = argmax_y log P(y | y_hat_<t) for t = 1..steps (stopping after ``eos`` if given).

    Returns (tokens as float64 ids, score = the sum of their log-probabilities).
    """
    tokens, score = [], np.float64(0.0)
    for t in range(check_count("greedy_decode", "steps", steps, 0)):
        lp = _step_log_probs(step, tokens)
        check_argmax("greedy_decode", "log-probabilities", lp, t)
        y = int(np.argmax(lp))
        tokens.append(y)
        score = score + lp[y]
        if eos is not None and y == eos:
            break
    return np.asarray(tokens, dtype=np.float64), np.float64(score)


def beam_search(step, steps, beam_width, eos=None, alpha=0.0):
    """Beam search: keep the ``beam_width`` best prefixes at every step.

    Score of a hypothesis y_1..y_L: s = sum_t log P(y_t | y_<t); it is ranked by s / L**alpha
    (alpha = 0: the plain sum; alpha > 0: length normalisation). A hypothesis ending in ``eos`` is
    finished and stays in the beam unchanged. Returns (tokens of the best hypothesis as float64 ids,
    its score s, the plain sum of log-probabilities). Ties go to the hypothesis found first (lower token ids first).
    """
    beam_width = check_count("beam_search", "beam_width", beam_width, 1)
    steps = check_count("beam_search", "steps", steps, 0)
    check_scalar("beam_search", "alpha", alpha, low=0)
    rank = lambda h: h[1] / (len(h[0]) ** alpha) if alpha else h[1]  # noqa: E731
    beam = [((), np.float64(0.0))]
    for _ in range(steps):
        candidates = []
        for prefix, s in beam:
            if eos is not None and prefix and prefix[-1] == eos:
                candidates.append((prefix, s))
                continue
            lp = _step_log_probs(step, prefix)
            for y in range(lp.size):
                candidates.append((prefix + (y,), s + lp[y]))
        order = sorted(range(len(candidates)), key=lambda n: -rank(candidates[n]))  # stable: first found wins ties
        beam = [candidates[n] for n in order[: int(beam_width)]]
    best = beam[0]
    return np.asarray(best[0], dtype=np.float64), np.float64(best[1])
