"""A student's negative-sampling step that writes the input gradient to the context word's row."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.negative_sampling_table_gradient', 'context row')]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def negative_sampling_table_gradients(W_in, W_out, centre, context, negatives):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    grad_in, grad_out = np.zeros_like(W_in), np.zeros_like(W_out)
    v = W_in[centre]
    g = (1.0 - _sigmoid(W_out[context] @ v)) * W_out[context]
    grad_out[context] += (1.0 - _sigmoid(W_out[context] @ v)) * v
    for k in negatives:
        g -= _sigmoid(W_out[k] @ v) * W_out[k]
        grad_out[k] -= _sigmoid(W_out[k] @ v) * v
    grad_in[context] += g  # wrong: row `centre`
    return grad_in, grad_out
