"""A student's skip-gram step that indexes W_out's gradient with the centre word."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.skipgram_table_gradient', 'output row of the centre')]


def skipgram_table_gradients(W_in, W_out, centre, context):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    grad_in, grad_out = np.zeros_like(W_in), np.zeros_like(W_out)
    v = W_in[centre]
    s = W_out @ v
    p = np.exp(s - s.max())
    p /= p.sum()
    for o in np.atleast_1d(context):
        grad_in[centre] += W_out[o] - p @ W_out
        grad_out -= np.outer(p, v)
        grad_out[centre] += v  # wrong: row o of W_out, the context word's output vector
    return grad_in, grad_out
