"""A correct student module for the embeddings functions of the realistic mistakes, written with Python loops and
the math module (one number at a time) rather than vectorised as the NumPy reference is: no hint may fire on it."""

import math

import numpy as np


def _log_sigmoid(x):
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def pmi(X):
    X = np.asarray(X, dtype=np.float64)
    n, m = X.shape
    N = sum(X[i, j] for i in range(n) for j in range(m))
    rows = [sum(X[i, j] for j in range(m)) for i in range(n)]
    cols = [sum(X[i, j] for i in range(n)) for j in range(m)]
    out = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            out[i, j] = -math.inf if X[i, j] == 0 else (
                math.log(X[i, j]) + math.log(N) - math.log(rows[i]) - math.log(cols[j]))
    return out


def skipgram_log_likelihood(E_in, E_out, words, c):
    E_in, E_out = np.asarray(E_in, dtype=np.float64), np.asarray(E_out, dtype=np.float64)
    words = [int(w) for w in words]
    total = 0.0
    for t, w in enumerate(words):
        scores = [float(E_out[v] @ E_in[w]) for v in range(E_out.shape[0])]
        top = max(scores)
        log_z = top + math.log(sum(math.exp(s - top) for s in scores))
        for j in range(-c, c + 1):
            if j != 0 and 0 <= t + j < len(words):
                total += scores[words[t + j]] - log_z
    return total


def _hash(ngram):
    h = 2166136261
    for byte in ngram.encode("utf-8"):
        h ^= (byte - 256 if byte >= 128 else byte) & 0xFFFFFFFF
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def fasttext_word_vector(word, Z, minn=3, maxn=6):
    Z = np.asarray(Z, dtype=np.float64)
    w = "<" + word + ">"
    v = np.zeros(Z.shape[1])
    for n in range(minn, min(len(w), maxn) + 1):
        for i in range(len(w) - n + 1):
            g = w[i:i + n]
            if n == 1 and g in "<>" and i in (0, len(w) - 1):
                continue
            v = v + Z[_hash(g) % Z.shape[0]]
    return v


def cbow_context(E, words, c):
    E = np.asarray(E, dtype=np.float64)
    words = [int(w) for w in words]
    out = np.zeros((len(words), E.shape[1]))
    for t in range(len(words)):
        idx = [words[t + j] for j in range(-c, c + 1) if j != 0 and 0 <= t + j < len(words)]
        for k in idx:
            out[t] += E[k]
        out[t] /= len(idx)
    return out


def negative_sampling_objective(v_I, v_O, V_neg):
    v_I, v_O, V_neg = (np.asarray(a, dtype=np.float64) for a in (v_I, v_O, V_neg))
    total = _log_sigmoid(float(v_O @ v_I))
    for row in V_neg:
        total += _log_sigmoid(-float(row @ v_I))
    return total


def unigram_noise(counts, power=0.75):
    w = [float(x) ** power for x in np.asarray(counts, dtype=np.float64)]
    s = sum(w)
    return np.array([x / s for x in w])


def glove_loss(W, W_tilde, b, b_tilde, X, x_max=100.0, alpha=0.75):
    W, W_tilde, b, b_tilde, X = (np.asarray(a, dtype=np.float64) for a in (W, W_tilde, b, b_tilde, X))
    J = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if X[i, j] > 0:
                f = min((X[i, j] / x_max) ** alpha, 1.0)
                J += f * (float(W[i] @ W_tilde[j]) + b[i] + b_tilde[j] - math.log(X[i, j])) ** 2
    return J


def skipgram_gradient(v_I, E_out, o):
    v_I, E_out = np.asarray(v_I, dtype=np.float64), np.asarray(E_out, dtype=np.float64)
    scores = [float(E_out[v] @ v_I) for v in range(E_out.shape[0])]
    top = max(scores)
    e = [math.exp(s - top) for s in scores]
    p = [x / sum(e) for x in e]
    d_vI = E_out[o].copy()
    for v in range(len(p)):
        d_vI -= p[v] * E_out[v]
    d_E = np.zeros_like(E_out)
    for v in range(len(p)):
        d_E[v] = ((1.0 if v == o else 0.0) - p[v]) * v_I
    return d_vI, d_E


def cooccurrence_matrix(sentences, V, window, weighting="count"):
    X = np.zeros((int(V), int(V)))
    for s in sentences:
        s = [int(w) for w in s]
        for t in range(len(s)):
            for k in range(len(s)):
                d = abs(k - t)
                if 0 < d <= window:
                    X[s[t], s[k]] += 1.0 if weighting == "count" else 1.0 / d
    return X


def glove_weight(x, x_max=100.0, alpha=0.75):
    return np.array([min((v / x_max) ** alpha, 1.0) for v in np.asarray(x, dtype=np.float64).ravel()]).reshape(np.shape(x))
