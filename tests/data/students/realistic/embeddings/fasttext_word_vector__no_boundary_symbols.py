"""fasttext_word_vector from the n-grams of the bare word, without the boundary symbols < and >."""

import numpy as np


def _hash(ngram):
    h = 2166136261
    for byte in ngram.encode("utf-8"):
        h ^= (byte - 256 if byte >= 128 else byte) & 0xFFFFFFFF
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def fasttext_word_vector(word, Z, minn=3, maxn=6):
    Z = np.asarray(Z, dtype=np.float64)
    w = word  # the mistake: not f"<{word}>"
    grams = [w[i:i + n] for n in range(minn, min(len(w), maxn) + 1) for i in range(len(w) - n + 1)]
    v = np.zeros(Z.shape[1])
    for g in grams:
        v += Z[_hash(g) % Z.shape[0]]
    return v
