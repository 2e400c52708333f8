"""A student's CBOW step with h the sum of the context vectors."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.cbow_table_gradient', 'sum, not average')]


def cbow_table_gradients(W_in, W_out, centre, context):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    context = list(np.atleast_1d(context))
    h = np.sum([W_in[j] for j in context], axis=0)  # wrong: the page averages the context vectors
    s = W_out @ h
    p = np.exp(s - s.max())
    p /= p.sum()
    err = -p
    err[centre] += 1.0
    grad_in = np.zeros_like(W_in)
    for j in context:
        grad_in[j] += err @ W_out
    return grad_in, np.outer(err, h)
