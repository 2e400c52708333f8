"""A student's vectorised CBOW step: the context rows are updated by fancy indexing."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.cbow_table_gradient', 'repeated context word counted once')]


def cbow_table_gradients(W_in, W_out, centre, context):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    context = np.atleast_1d(context)
    h = W_in[context].mean(axis=0)
    s = W_out @ h
    p = np.exp(s - s.max())
    p /= p.sum()
    err = -p
    err[centre] += 1.0
    grad_in = np.zeros_like(W_in)
    grad_in[context] += (err @ W_out) / len(context)  # wrong: a repeated index is added once; np.add.at
    return grad_in, np.outer(err, h)
