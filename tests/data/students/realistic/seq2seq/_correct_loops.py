"""A correct student module for the seq2seq functions of the realistic mistakes, written with explicit loops and
its own helpers rather than as the NumPy reference is: no hint may fire on it."""

import math

import numpy as np


def _softmax(z):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def teacher_forcing_logits(targets, h0, E, W_hh, W_xh, b, W_out, b_out, bos=0):
    E, W_out = np.asarray(E, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    targets = [int(t) for t in np.asarray(targets)]
    h = np.asarray(h0, dtype=np.float64)
    prev = [int(bos)] + targets[:-1]
    out = []
    for y in prev:
        h = np.tanh(np.asarray(W_hh) @ h + np.asarray(W_xh) @ E[y] + b)
        out.append(W_out @ h + b_out)
    return np.stack(out)


def greedy_decode(step, steps, eos=None):
    tokens, score = [], 0.0
    for _ in range(int(steps)):
        lp = list(np.asarray(step(tuple(tokens)), dtype=np.float64))
        y = max(range(len(lp)), key=lambda v: (lp[v], -v))
        tokens.append(y)
        score += lp[y]
        if eos is not None and y == eos:
            break
    return np.asarray(tokens, dtype=np.float64), np.float64(score)


def beam_search(step, steps, beam_width, eos=None, alpha=0.0):
    def rank(h):
        return h[1] / (len(h[0]) ** alpha) if alpha else h[1]

    beam = [((), 0.0)]
    for _ in range(int(steps)):
        cand = []
        for prefix, s in beam:
            if eos is not None and prefix and prefix[-1] == eos:
                cand.append((prefix, s))
            else:
                lp = np.asarray(step(prefix), dtype=np.float64)
                cand.extend((prefix + (y,), s + float(lp[y])) for y in range(lp.size))
        beam = sorted(cand, key=lambda h: -rank(h))[: int(beam_width)]  # sorted is stable: first found wins ties
    return np.asarray(beam[0][0], dtype=np.float64), np.float64(beam[0][1])


def sequence_log_likelihood(logits, targets):
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets).astype(np.int64)
    m = z.max(axis=-1, keepdims=True)
    log_p = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    return np.take_along_axis(log_p, t[..., None], axis=-1)[..., 0].sum(axis=-1)


def decoder_forward(ys_prev, c, W_hh, W_xh, b, feed="init"):
    ys_prev, c = np.asarray(ys_prev, dtype=np.float64), np.asarray(c, dtype=np.float64)
    W_hh, W_xh = np.asarray(W_hh, dtype=np.float64), np.asarray(W_xh, dtype=np.float64)
    if feed not in ("init", "concat"):
        raise ValueError(f"feed must be 'init' or 'concat', got {feed!r}")
    lead = np.broadcast_shapes(ys_prev.shape[:-2], c.shape[:-1])
    h = np.broadcast_to(c, lead + c.shape[-1:]) if feed == "init" else np.zeros(lead + (W_hh.shape[0],))
    hs = []
    for t in range(ys_prev.shape[-2]):
        y = np.broadcast_to(ys_prev[..., t, :], lead + ys_prev.shape[-1:])
        x = y if feed == "init" else np.concatenate([y, np.broadcast_to(c, lead + c.shape[-1:])], axis=-1)
        h = np.tanh(h @ W_hh.T + x @ W_xh.T + b)
        hs.append(h)
    return np.stack(hs, axis=-2)


def output_distribution(h_dec, W, b):
    return _softmax(np.asarray(h_dec, dtype=np.float64) @ np.asarray(W, dtype=np.float64).T + b)


def scheduled_sampling_inverse_sigmoid(i, k):
    if not k >= 1:
        raise ValueError(f"k must be >= 1, got {k!r}")
    return np.float64(1.0 / (1.0 + math.exp(i / k) / k)) if i / k < 700 else np.float64(k * math.exp(-i / k))


def scheduled_sampling_linear(i, k, c, epsilon):
    return np.float64(max(epsilon, k - c * i))


def bahdanau_attention(h_enc, s_prev, W1, W2, v, mask=None):
    h_enc, s_prev = np.asarray(h_enc, dtype=np.float64), np.asarray(s_prev, dtype=np.float64)
    e = np.array([float(np.tanh(np.asarray(W1) @ h + np.asarray(W2) @ s_prev) @ np.asarray(v)) for h in h_enc])
    if mask is not None:
        e = np.where(np.asarray(mask, dtype=bool), e, -np.inf)
    if np.all(e == -np.inf):
        alpha = np.zeros_like(e)
    else:
        alpha = np.exp(e - e.max())
        alpha = alpha / alpha.sum()
    return alpha @ h_enc, alpha


def bidirectional_concat(hs_forward, hs_backward):
    f, bwd = np.asarray(hs_forward, dtype=np.float64), np.asarray(hs_backward, dtype=np.float64)
    return np.concatenate([f, bwd[..., ::-1, :]], axis=-1)
