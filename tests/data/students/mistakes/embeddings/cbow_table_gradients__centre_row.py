"""A student's CBOW step adapted from skip-gram: the input gradient goes to the centre word's row."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.cbow_table_gradient', 'centre row')]


def cbow_table_gradients(W_in, W_out, centre, context):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    context = list(np.atleast_1d(context))
    h = np.mean([W_in[j] for j in context], axis=0)
    s = W_out @ h
    p = np.exp(s - s.max())
    p /= p.sum()
    err = -p
    err[centre] += 1.0
    grad_in = np.zeros_like(W_in)
    grad_in[centre] += err @ W_out  # wrong: CBOW's input vectors are the context words' (1/|C| each)
    return grad_in, np.outer(err, h)
