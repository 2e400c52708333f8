"""A student's skip-gram step that returns the gradient of the loss -log P (CS224n's convention)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.skipgram_table_gradient', 'missing sign')]


def skipgram_table_gradients(W_in, W_out, centre, context):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    grad_in, grad_out = np.zeros_like(W_in), np.zeros_like(W_out)
    v = W_in[centre]
    s = W_out @ v
    y_hat = np.exp(s - s.max())
    y_hat /= y_hat.sum()
    for o in np.atleast_1d(context):
        y = np.zeros(len(W_out))
        y[o] = 1.0
        grad_in[centre] += W_out.T @ (y_hat - y)  # wrong: the gradient of log P is W_out^T (y - y_hat)
        grad_out += np.outer(y_hat - y, v)
    return grad_in, grad_out
