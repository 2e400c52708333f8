"""cbow_context that averages the window with the centre word in it (j = 0 not skipped)."""

import numpy as np


def cbow_context(E, words, c):
    E = np.asarray(E, dtype=np.float64)
    words = [int(w) for w in words]
    T = len(words)
    rows = []
    for t in range(T):
        idx = [words[t + j] for j in range(-c, c + 1) if 0 <= t + j < T]  # the mistake: j = 0 kept
        rows.append(np.mean(E[idx], axis=0))
    return np.stack(rows)
