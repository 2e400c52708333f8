"""Sequence to sequence, PyTorch implementation (course page: sequence_to_sequence.md).

Same functions and signatures as reference/numpy/seq2seq.py; float32 or float64 (whatever the
inputs are), differentiable, batched over leading axes where the NumPy reference is. The
recurrent cells are the recurrent topic's (``reference.torch.recurrent``), the additive score
and the softmax the attention topic's. Token ids may arrive as integer or whole-number float
tensors.
"""

from __future__ import annotations

import numpy as np
import torch

from reference.torch._common import accepts_numpy

from reference.torch.attention import additive_score, softmax
from reference.torch.recurrent import rnn_cell, rnn_forward
from reference.numpy._common import check_scalar
from reference.numpy.seq2seq import check_argmax, check_count, check_schedule, check_targets, check_token_id


def _t(x, like=None):
    if isinstance(x, torch.Tensor):
        return x
    dtype = like.dtype if isinstance(like, torch.Tensor) and like.is_floating_point() else torch.float64
    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype)


def _tokens(a, name, fn):
    t = a if isinstance(a, torch.Tensor) else torch.as_tensor(np.asarray(a))
    if t.is_floating_point():
        if not (torch.all(torch.isfinite(t)) and torch.all(t == torch.round(t))):
            raise TypeError(f"{fn}: {name} must be integer token ids, got {t!r}")
        t = t.to(torch.int64)
    elif t.dtype == torch.bool:
        raise TypeError(f"{fn}: {name} must be integer token ids, got dtype {t.dtype}")
    return t.to(torch.int64)


# -- the encoder-decoder ---------------------------------------------------------------------------


@accepts_numpy
def context_vector(hs_enc):
    """c = h_{T_src}^enc: the last encoder state. hs_enc: (..., T_src, d_h) -> (..., d_h)."""
    if hs_enc.dim() < 2 or hs_enc.shape[-2] == 0:
        raise ValueError(f"context_vector: hs_enc must be (..., T_src, d_h) with T_src >= 1, got shape {tuple(hs_enc.shape)}")
    return hs_enc[..., -1, :]


@accepts_numpy
def decoder_forward(ys_prev, c, W_hh, W_xh, b, feed="init"):
    """h_t^dec = f_dec(y_{t-1}, h_{t-1}^dec), Elman cell; feed="init" (h_0 = c) or "concat" ([y; c] each step)."""
    d_h = W_hh.shape[0]
    if ys_prev.dim() < 2:
        raise ValueError(f"decoder_forward: ys_prev must be (..., T, d_y), got shape {tuple(ys_prev.shape)}")
    if feed == "init":
        if c.shape[-1] != d_h:
            raise ValueError(f"decoder_forward: feed='init' sets h_0 = c, so c needs d_h = {d_h} features, "
                             f"got shape {tuple(c.shape)}")
        return rnn_forward(ys_prev, c, W_hh, W_xh, b)
    if feed == "concat":
        lead = torch.broadcast_shapes(ys_prev.shape[:-2], c.shape[:-1])
        T = ys_prev.shape[-2]
        cs = c[..., None, :].expand(*lead, T, c.shape[-1])
        xs = torch.cat([ys_prev.expand(*lead, *ys_prev.shape[-2:]), cs], dim=-1)
        return rnn_forward(xs, torch.zeros(*lead, d_h, dtype=W_hh.dtype), W_hh, W_xh, b)
    raise ValueError(f"decoder_forward: feed must be 'init' or 'concat', got {feed!r}")


@accepts_numpy
def output_distribution(h_dec, W, b):
    """P(y_t | y_<t, c) = softmax(W h_t^dec + b). h_dec: (..., d_h), W: (V, d_h), b: (V,) -> (..., V)."""
    return softmax(h_dec @ W.T + b)


@accepts_numpy
def encoder_decoder_distributions(hs_enc, ys_prev, W_hh, W_xh, b, W_out, b_out, feed="init"):
    """The vanilla encoder-decoder's next-token distributions (..., T, V); the source enters only through c."""
    c = context_vector(hs_enc)
    return output_distribution(decoder_forward(ys_prev, c, W_hh, W_xh, b, feed), W_out, b_out)


# -- attention -------------------------------------------------------------------------------------


@accepts_numpy
def alignment_weights(e, mask=None):
    """alpha_{t,j} = softmax_j(e_{t,j}) with masked positions (keep-mask False) exactly 0."""
    if mask is not None:
        e = e.masked_fill(~torch.as_tensor(mask, dtype=torch.bool), float("-inf"))
    return softmax(e)


@accepts_numpy
def context_from_weights(alpha, h_enc):
    """c_t = sum_j alpha_{t,j} h_j^enc. alpha: (..., T_src), h_enc: (..., T_src, d) -> (..., d)."""
    if alpha.shape[-1] != h_enc.shape[-2]:
        raise ValueError(f"context_from_weights: alpha has {alpha.shape[-1]} source positions but h_enc has "
                         f"{h_enc.shape[-2]} (alpha {tuple(alpha.shape)}, h_enc {tuple(h_enc.shape)})")
    return (alpha[..., :, None] * h_enc).sum(dim=-2)


@accepts_numpy
def bahdanau_attention(h_enc, s_prev, W1, W2, v, mask=None):
    """Bahdanau attention at one decoder step -> (c_t (d_h,), alpha (T_src,))."""
    alpha = alignment_weights(additive_score(h_enc, s_prev, W1, W2, v), mask)
    return context_from_weights(alpha, h_enc), alpha


@accepts_numpy
def luong_general_score(h_dec, h_enc, W_a):
    """e_{t,j} = (h_t^dec)^T W_a h_j^enc -> (..., T_src)."""
    return ((h_enc @ W_a.T) * h_dec[..., None, :]).sum(dim=-1)


@accepts_numpy
def luong_dot_score(h_dec, h_enc):
    """e_{t,j} = (h_t^dec)^T h_j^enc -> (..., T_src)."""
    if h_dec.shape[-1] != h_enc.shape[-1]:
        raise ValueError(f"luong_dot_score: the dot score needs matching dimensions, got h_dec {tuple(h_dec.shape)} "
                         f"and h_enc {tuple(h_enc.shape)}")
    return (h_enc * h_dec[..., None, :]).sum(dim=-1)


@accepts_numpy
def luong_concat_score(h_dec, h_enc, W_a, v_a):
    """e_{t,j} = v_a^T tanh(W_a [h_t^dec; h_j^enc]) -> (..., T_src)."""
    lead = torch.broadcast_shapes(h_dec.shape[:-1], h_enc.shape[:-2])
    T = h_enc.shape[-2]
    hd = h_dec[..., None, :].expand(*lead, T, h_dec.shape[-1])
    he = h_enc.expand(*lead, *h_enc.shape[-2:])
    return torch.tanh(torch.cat([hd, he], dim=-1) @ W_a.T) @ v_a


# -- teacher forcing and free running ---------------------------------------------------------------


@accepts_numpy
def teacher_forcing_logits(targets, h0, E, W_hh, W_xh, b, W_out, b_out, bos=0):
    """Teacher forcing: input at step t is the true y_{t-1} (y_0 = bos) -> logits (T, V)."""
    targets = _tokens(targets, "targets", "teacher_forcing_logits")
    bos = check_token_id("teacher_forcing_logits", "bos", bos, E.shape[0])
    if targets.numel() and ((targets < 0).any() or (targets >= E.shape[0]).any()):
        raise ValueError(f"teacher_forcing_logits: targets must be token ids in [0, {E.shape[0]}) (rows of E), "
                         f"got {targets.tolist()}")
    inputs = torch.cat([torch.tensor([bos], dtype=torch.int64), targets[:-1]])
    hs = rnn_forward(E[inputs], h0, W_hh, W_xh, b)
    return hs @ W_out.T + b_out


@accepts_numpy
def free_running_decode(h0, E, W_hh, W_xh, b, W_out, b_out, steps, bos=0):
    """Free running: feed back the argmax (y_0 = bos) -> (tokens (steps,), logits (steps, V))."""
    steps = check_count("free_running_decode", "steps", steps, 0)
    h, y = h0, check_token_id("free_running_decode", "bos", bos, E.shape[0])
    tokens, logits = [], []
    for _ in range(steps):
        h = rnn_cell(E[y], h, W_hh, W_xh, b)
        z = h @ W_out.T + b_out
        check_argmax("free_running_decode", "logits", z.detach().cpu().numpy(), len(tokens))
        y = int(torch.argmax(z))  # first maximum: ties go to the lower id
        tokens.append(y)
        logits.append(z)
    return torch.tensor(tokens, dtype=E.dtype), (torch.stack(logits) if logits else E.new_zeros(0, W_out.shape[0]))


@accepts_numpy
def sequence_log_likelihood(logits, targets):
    """log P(y_1..y_T) = sum_t log softmax(logits_t)[y_t] -> (...)."""
    targets = _tokens(targets, "targets", "sequence_log_likelihood")
    check_targets("sequence_log_likelihood", targets, logits.shape)
    lp = torch.log_softmax(logits, dim=-1)
    return torch.gather(lp, -1, targets[..., None])[..., 0].sum(dim=-1)


# -- scheduled sampling ---------------------------------------------------------------------------


@accepts_numpy
def scheduled_sampling_linear(i, k, c, epsilon):
    """epsilon_i = max(epsilon, k - c i)."""
    check_schedule("scheduled_sampling_linear", i, k=k, c=c, epsilon=epsilon)
    i = _t(i)
    return torch.clamp(k - c * i, min=float(epsilon))


@accepts_numpy
def scheduled_sampling_exponential(i, k):
    """epsilon_i = k^i with 0 < k < 1."""
    if not 0 < k < 1:
        raise ValueError(f"scheduled_sampling_exponential: k must be in (0, 1), got {k!r}")
    check_schedule("scheduled_sampling_exponential", i)
    i = _t(i)
    return torch.pow(_t(k, i), i)


@accepts_numpy
def scheduled_sampling_inverse_sigmoid(i, k):
    """epsilon_i = k / (k + exp(i / k)) with k >= 1."""
    if not k >= 1:
        raise ValueError(f"scheduled_sampling_inverse_sigmoid: k must be >= 1, got {k!r}")
    check_schedule("scheduled_sampling_inverse_sigmoid", i)
    i = _t(i)
    ke = k * torch.exp(-i / k)  # = k / exp(i/k): no overflow for i >= 0
    return ke / (ke + 1.0)


@accepts_numpy
def scheduled_sampling_mix(truth, predicted, p_truth, seed=0):
    """Feed the truth with probability p_truth (coins u < p_truth, u from numpy default_rng(seed)) -> (inputs, used_truth)."""
    truth = _tokens(truth, "truth", "scheduled_sampling_mix")
    predicted = _tokens(predicted, "predicted", "scheduled_sampling_mix")
    if truth.shape != predicted.shape:
        raise ValueError(f"scheduled_sampling_mix: truth {tuple(truth.shape)} and predicted {tuple(predicted.shape)} "
                         f"must have one shape")
    if not 0 <= p_truth <= 1:
        raise ValueError(f"scheduled_sampling_mix: p_truth must be in [0, 1], got {p_truth!r}")
    seed = check_scalar("scheduled_sampling_mix", "seed", seed, low=0, integer=True)
    u = torch.as_tensor(np.random.default_rng(seed).random(tuple(truth.shape)))
    used = u < float(p_truth)
    return torch.where(used, truth, predicted).to(torch.float64), used


# -- decoding -------------------------------------------------------------------------------------


def _step_log_probs(step, prefix):
    lp = step(tuple(prefix))
    lp = lp if isinstance(lp, torch.Tensor) else torch.as_tensor(np.asarray(lp, dtype=np.float64))
    if lp.dim() != 1 or lp.numel() == 0:
        raise ValueError(f"step must return a 1-D vector of log-probabilities, got shape {tuple(lp.shape)}")
    return lp


@accepts_numpy
def greedy_decode(step, steps, eos=None):
    """Greedy decoding -> (tokens, score = sum of their log-probabilities)."""
    tokens, score = [], None
    for t in range(check_count("greedy_decode", "steps", steps, 0)):
        lp = _step_log_probs(step, tokens)
        check_argmax("greedy_decode", "log-probabilities", lp.detach().cpu().numpy(), t)
        y = int(torch.argmax(lp))
        tokens.append(y)
        score = lp[y] if score is None else score + lp[y]
        if eos is not None and y == eos:
            break
    return torch.tensor(tokens, dtype=torch.float64), (score if score is not None else torch.tensor(0.0, dtype=torch.float64))


@accepts_numpy
def beam_search(step, steps, beam_width, eos=None, alpha=0.0):
    """Beam search ranked by s / L**alpha -> (tokens of the best hypothesis, its sum of log-probabilities)."""
    beam_width = check_count("beam_search", "beam_width", beam_width, 1)
    steps = check_count("beam_search", "steps", steps, 0)
    check_scalar("beam_search", "alpha", alpha, low=0)
    rank = lambda h: float(h[1]) / (len(h[0]) ** alpha) if alpha else float(h[1])  # noqa: E731
    beam = [((), torch.tensor(0.0, dtype=torch.float64))]
    for _ in range(steps):
        candidates = []
        for prefix, s in beam:
            if eos is not None and prefix and prefix[-1] == eos:
                candidates.append((prefix, s))
                continue
            lp = _step_log_probs(step, prefix)
            for y in range(lp.numel()):
                candidates.append((prefix + (y,), s + lp[y]))
        order = sorted(range(len(candidates)), key=lambda n: -rank(candidates[n]))
        beam = [candidates[n] for n in order[: int(beam_width)]]
    best = beam[0]
    return torch.tensor(best[0], dtype=torch.float64), best[1]
