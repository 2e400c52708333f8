"""A student's skip-gram step that adds the centre word's gradient to the context words' rows of W_in."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.skipgram_table_gradient', 'context rows')]


def skipgram_table_gradients(W_in, W_out, centre, context):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    grad_in, grad_out = np.zeros_like(W_in), np.zeros_like(W_out)
    v = W_in[centre]
    s = W_out @ v
    p = np.exp(s - s.max())
    p /= p.sum()
    for o in np.atleast_1d(context):
        grad_in[o] += W_out[o] - p @ W_out  # wrong: row `centre`, the word whose vector v_c was used
        grad_out -= np.outer(p, v)
        grad_out[o] += v
    return grad_in, grad_out
