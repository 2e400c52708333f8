"""A student's attention context that averages alpha_j h_j."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('seq2seq.bahdanau_context', 'mean instead of weighted sum')]


def context_from_weights(alpha, h_enc):
    alpha = np.asarray(alpha, dtype=np.float64)
    return alpha @ np.asarray(h_enc, dtype=np.float64) / alpha.shape[-1]  # wrong: the weights already sum to one
