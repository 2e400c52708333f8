"""A student's CBOW step that returns the gradient of the cross-entropy loss."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.cbow_table_gradient', 'missing sign')]


def cbow_table_gradients(W_in, W_out, centre, context):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    context = list(np.atleast_1d(context))
    h = np.mean([W_in[j] for j in context], axis=0)
    s = W_out @ h
    y_hat = np.exp(s - s.max())
    y_hat /= y_hat.sum()
    delta = y_hat.copy()
    delta[centre] -= 1.0  # wrong: y - y_hat is the log-likelihood's; y_hat - y is the loss's
    grad_in = np.zeros_like(W_in)
    for j in context:
        grad_in[j] += (delta @ W_out) / len(context)
    return grad_in, np.outer(delta, h)
