"""A student's skip-gram softmax normalised over axis 0 of the scores (..., V). For one input vector axis 0
is the vocabulary, so it is right; for a batch of input vectors it normalises over the batch.
"""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.skipgram_softmax', 'softmax over the wrong axis')]


def skipgram_softmax(v_I, E_out):
    s = np.asarray(v_I, dtype=np.float64) @ np.asarray(E_out, dtype=np.float64).T  # (..., V)
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)  # wrong: the vocabulary is the LAST axis
