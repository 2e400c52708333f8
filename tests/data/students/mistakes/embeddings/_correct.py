"""A correct student module for the embeddings equations that have known mistakes, written from the embeddings
page's equations (must pass with no hint).
"""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = []


def _log_sigmoid(x):
    """log sigma(x) = -log(1 + exp(-x)), without overflow."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))


def cosine_similarity(u, v):
    """u . v / (||u|| ||v||) along the last axis."""
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    return np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))


def _neighbours(T, t, c):
    return [t + j for j in range(-c, c + 1) if j != 0 and 0 <= t + j < T]


def cbow_context(E, words, c):
    E = np.asarray(E, dtype=np.float64)
    T = len(words)
    rows = []
    for t in range(T):
        near = _neighbours(T, t, c)
        total = sum(E[words[k]] for k in near)
        h = total / len(near)
        rows.append(h)
    return np.stack(rows)


def skipgram_softmax(v_I, E_out):
    """softmax over the vocabulary of the scores v'_w . v_I."""
    s = np.asarray(v_I, dtype=np.float64) @ np.asarray(E_out, dtype=np.float64).T
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def hierarchical_softmax(v_I, node_vectors, codes, points):
    """P(w | w_I) = product over the nodes of w's path of sigma(sign * v'_node . v_I)."""
    v_I = np.asarray(v_I, dtype=np.float64)
    N = np.asarray(node_vectors, dtype=np.float64)
    probs = []
    for code, point in zip(codes, points):
        p = 1.0
        for bit, node in zip(code, point):
            sign = 1.0 - 2.0 * bit  # code 0: sigma(+x), code 1: sigma(-x) (word2vec, gensim)
            p *= _sigmoid(sign * (N[node] @ v_I))
        probs.append(p)
    return np.array(probs)


def negative_sampling_objective(v_I, v_O, V_neg):
    """log sigma(v'_O . v_I) + sum_i log sigma(-v'_i . v_I)."""
    v_I = np.asarray(v_I, dtype=np.float64)
    return float(_log_sigmoid(np.dot(v_O, v_I)) + np.sum(_log_sigmoid(-(np.asarray(V_neg) @ v_I))))


def unigram_noise(counts, power=0.75):
    """P_n(w) proportional to count(w)^(3/4)."""
    w = np.asarray(counts, dtype=np.float64) ** power
    return w / w.sum()


def pmi(X):
    """log (X_wc N / (X_w. X_.c)); -inf where X_wc = 0."""
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(X) + np.log(X.sum()) - np.log(X.sum(axis=1))[:, None] - np.log(X.sum(axis=0))[None, :]



def ppmi(X):
    """max(PMI, 0)."""
    return np.maximum(pmi(X), 0.0)


def glove_weight(x, x_max=100.0, alpha=0.75):
    """f(x) = (x / x_max)^alpha, capped at 1."""
    return np.minimum((np.asarray(x, dtype=np.float64) / x_max) ** alpha, 1.0)


def glove_loss(W, W_tilde, b, b_tilde, X, x_max=100.0, alpha=0.75):
    """J = sum over X_ij > 0 of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2."""
    X = np.asarray(X, dtype=np.float64)
    seen = X > 0
    r = np.asarray(W) @ np.asarray(W_tilde).T + np.asarray(b)[:, None] + np.asarray(b_tilde)[None, :] \
        - np.log(np.where(seen, X, 1.0))
    terms = glove_weight(X, x_max, alpha) * r ** 2
    return float(np.sum(np.where(seen, terms, 0.0)))


def _softmax_vector(s):
    e = np.exp(s - np.max(s))
    return e / e.sum()


def _sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def skipgram_table_gradients(W_in, W_out, centre, context):
    """Gradients of sum_o log P(o | centre) over both whole tables, one context word at a time."""
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    grad_in, grad_out = np.zeros_like(W_in), np.zeros_like(W_out)
    v = W_in[centre]
    p = _softmax_vector(W_out @ v)
    for o in np.atleast_1d(context):
        grad_in[centre] += W_out[o] - p @ W_out
        grad_out -= np.outer(p, v)
        grad_out[o] += v
    return grad_in, grad_out


def negative_sampling_table_gradients(W_in, W_out, centre, context, negatives):
    """Gradients of log sigma(v'_o . v_c) + sum_k log sigma(-v'_k . v_c) over both whole tables."""
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    grad_in, grad_out = np.zeros_like(W_in), np.zeros_like(W_out)
    v = W_in[centre]
    pos = _sigmoid(-(W_out[context] @ v))
    grad_in[centre] += pos * W_out[context]
    grad_out[context] += pos * v
    for k in negatives:
        neg = _sigmoid(W_out[k] @ v)
        grad_in[centre] -= neg * W_out[k]
        grad_out[k] -= neg * v
    return grad_in, grad_out


def cbow_table_gradients(W_in, W_out, centre, context):
    """Gradients of log P(centre | h), h the average of the context rows, over both whole tables."""
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    context = list(np.atleast_1d(context))
    h = np.mean([W_in[j] for j in context], axis=0)
    p = _softmax_vector(W_out @ h)
    err = -p
    err[centre] += 1.0
    grad_in = np.zeros_like(W_in)
    for j in context:
        grad_in[j] += (err @ W_out) / len(context)
    return grad_in, np.outer(err, h)
