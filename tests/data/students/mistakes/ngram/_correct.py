"""A correct student module for the n-gram equations that have known mistakes, written from
language_modeling_basics.md's equations (must pass with no hint).
"""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = []


def chain_rule_joint(conditionals):
    """P(w_1..w_T) = prod_t P(w_t | w_<t)."""
    return np.prod(np.asarray(conditionals, dtype=np.float64), axis=-1)


def markov_conditionals(joint, order):
    """cond[t][w_1..w_T] = P(w_{t+1} | the last `order` words before it), 0 where that history never occurs."""
    joint = np.asarray(joint, dtype=np.float64)
    T = joint.ndim
    out = []
    for t in range(T):
        first = max(0, t - order)
        others = tuple(i for i in range(T) if not first <= i <= t)
        marginal = joint.sum(axis=others, keepdims=True)          # P(w_first..w_t)
        history = marginal.sum(axis=t, keepdims=True)             # P(w_first..w_{t-1})
        cond = np.divide(marginal, history, out=np.zeros(marginal.shape), where=history > 0)
        out.append(np.broadcast_to(cond, joint.shape))
    return np.stack(out)


def unigram_mle(counts):
    """P(w) = c(w) / N."""
    c = np.asarray(counts, dtype=np.float64)
    return c / c.sum(axis=-1, keepdims=True)


def ngram_mle(counts, context_counts):
    """P(w | h) = c(h, w) / c(h), 0 for an unseen context."""
    c = np.asarray(counts, dtype=np.float64)
    h = np.asarray(context_counts, dtype=np.float64)[..., None]
    return np.divide(c, h, out=np.zeros(np.broadcast_shapes(c.shape, h.shape)), where=h > 0)


def add_k(counts, context_counts, k, vocab_size):
    """(c(h, w) + k) / (c(h) + k V)."""
    c = np.asarray(counts, dtype=np.float64)
    return (c + k) / (np.asarray(context_counts, dtype=np.float64)[..., None] + k * vocab_size)


def interpolate(probabilities, weights):
    """sum_i lambda_i P_i (highest order first)."""
    return np.tensordot(np.asarray(weights, dtype=np.float64), np.asarray(probabilities, dtype=np.float64), axes=1)


def backoff_literal(probabilities, counts):
    """The highest order (first row) whose count is non-zero; the lowest order if none."""
    p, c = np.asarray(probabilities, dtype=np.float64), np.asarray(counts, dtype=np.float64)
    out = p[-1].copy()
    for i in reversed(range(p.shape[0] - 1)):
        out = np.where(c[i] > 0, p[i], out)
    return out


def sequence_perplexity(log_probs):
    """exp(-(1/T) sum log p)."""
    return np.exp(-np.mean(np.asarray(log_probs, dtype=np.float64), axis=-1))


def cross_entropy_bits(log_probs):
    """-(1/T) sum log2 p, from natural-log probabilities."""
    return -np.mean(np.asarray(log_probs, dtype=np.float64), axis=-1) / np.log(2.0)


def kneser_ney_interpolate(counts, lower, discounts):
    """p(w | h) = (c(hw) - D(c(hw))) / c(h) + gamma(h) p(w | h'), gamma(h) = sum_w D(c(hw)) / c(h);
    an unseen context (c(h) = 0) backs off entirely to p(w | h')."""
    a = np.asarray(counts, dtype=np.float64)
    lower = np.asarray(lower, dtype=np.float64)
    D1, D2, D3 = np.asarray(discounts, dtype=np.float64)
    d = np.select([a >= 3, a == 2, a >= 1], [D3, D2, D1], 0.0)
    total = a.sum(axis=-1, keepdims=True)
    seen = total > 0
    c_h = np.where(seen, total, 1.0)
    gamma = np.where(seen, d.sum(axis=-1, keepdims=True) / c_h, 1.0)
    return (a - d) / c_h + gamma * lower


def kneser_ney_discounts(counts_of_counts):
    """Y = n1 / (n1 + 2 n2), D_k = k - (k + 1) Y n_{k+1} / n_k for k = 1, 2, 3."""
    n1, n2, n3, n4 = np.moveaxis(np.asarray(counts_of_counts, dtype=np.float64), -1, 0)
    Y = n1 / (n1 + 2 * n2)
    return np.stack([1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3], axis=-1)


def continuation_counts(counts):
    """N1+(. w): the number of distinct words seen before w (axis 0 is the preceding word)."""
    return (np.asarray(counts) > 0).sum(axis=0).astype(np.float64)
