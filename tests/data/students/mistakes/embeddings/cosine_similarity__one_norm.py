"""A student's cosine similarity divided by ||u|| only."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.cosine_similarity', 'one norm')]


def cosine_similarity(u, v):
    u, v = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
    return np.sum(u * v, axis=-1) / np.linalg.norm(u, axis=-1)  # wrong: ||v|| forgotten
