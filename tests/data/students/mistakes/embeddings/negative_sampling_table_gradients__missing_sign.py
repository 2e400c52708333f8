"""A student's negative-sampling step that returns the gradient of the loss (the negated objective)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.negative_sampling_table_gradient', 'missing sign')]


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def negative_sampling_table_gradients(W_in, W_out, centre, context, negatives):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    grad_in, grad_out = np.zeros_like(W_in), np.zeros_like(W_out)
    v = W_in[centre]
    t = _sigmoid(W_out[context] @ v) - 1.0  # wrong: the objective's gradient has 1 - sigma (a loss has sigma - 1)
    grad_in[centre] += t * W_out[context]
    grad_out[context] += t * v
    for k in negatives:
        t = _sigmoid(W_out[k] @ v)
        grad_in[centre] += t * W_out[k]
        grad_out[k] += t * v
    return grad_in, grad_out
