"""A student's skip-gram softmax normalised over axis 0, without the max-shift. Axis 0 is the vocabulary for one
input vector (so only the missing max-shift shows on the registry's pinned inputs, all unbatched: exp(1e3) =
inf gives NaN) and the batch for a batch of them.
"""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.skipgram_softmax', 'softmax over the wrong axis')]


def skipgram_softmax(v_I, E_out):
    s = np.asarray(v_I, dtype=np.float64) @ np.asarray(E_out, dtype=np.float64).T  # (..., V)
    e = np.exp(s)
    return e / e.sum(axis=0, keepdims=True)  # wrong: the vocabulary is the LAST axis (and no max-shift)
