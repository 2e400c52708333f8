"""A student's embeddings module: a right cosine, a CBOW context that sums the neighbours instead of
averaging them, and nothing else yet. Used by tests/test_embeddings_worked.py (the --impl check)."""
import numpy as np


def cosine_similarity(u, v):
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    if np.any(np.all(u == 0, axis=-1)) or np.any(np.all(v == 0, axis=-1)):
        raise ValueError("cosine_similarity: u is a zero vector")
    return np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))


def cbow_context(E, words, c):
    E = np.asarray(E, dtype=np.float64)
    T = len(words)
    rows = []
    for t in range(T):
        rows.append(sum(E[words[t + j]] for j in range(-c, c + 1) if j != 0 and 0 <= t + j < T))  # no average
    return np.stack(rows)
