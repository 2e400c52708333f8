"""A student's cosine similarity that is the plain dot product."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.cosine_similarity', 'no normalisation')]


def cosine_similarity(u, v):
    return np.sum(np.asarray(u, dtype=np.float64) * np.asarray(v, dtype=np.float64), axis=-1)  # wrong: / (|u| |v|)
