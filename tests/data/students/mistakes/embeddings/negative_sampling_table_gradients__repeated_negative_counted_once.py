"""A student's vectorised negative-sampling step: the negatives' rows are updated by fancy indexing."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.negative_sampling_table_gradient', 'repeated negative counted once')]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def negative_sampling_table_gradients(W_in, W_out, centre, context, negatives):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    negatives = np.asarray(negatives, dtype=np.int64)
    v = W_in[centre]
    s_pos, s_neg = W_out[context] @ v, W_out[negatives] @ v
    grad_in = np.zeros_like(W_in)
    grad_in[centre] = (1.0 - _sigmoid(s_pos)) * W_out[context] - _sigmoid(s_neg) @ W_out[negatives]
    grad_out = np.zeros_like(W_out)
    grad_out[context] += (1.0 - _sigmoid(s_pos)) * v
    grad_out[negatives] -= np.outer(_sigmoid(s_neg), v)  # wrong: a negative drawn twice counts once; np.subtract.at
    return grad_in, grad_out
