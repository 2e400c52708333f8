"""A student's CBOW context that sums the neighbours."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.cbow_context', 'sum')]


def _neighbours(T, t, c):
    return [t + j for j in range(-c, c + 1) if j != 0 and 0 <= t + j < T]


def cbow_context(E, words, c):
    E = np.asarray(E, dtype=np.float64)
    T = len(words)
    rows = []
    for t in range(T):
        near = _neighbours(T, t, c)
        total = sum(E[words[k]] for k in near)
        h = total  # wrong: the average of the neighbours
        rows.append(h)
    return np.stack(rows)
