"""A student's vectorised skip-gram step: the output rows are updated by fancy indexing."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.skipgram_table_gradient', 'repeated context word counted once')]


def skipgram_table_gradients(W_in, W_out, centre, context):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    context = np.atleast_1d(context)
    v = W_in[centre]
    s = W_out @ v
    p = np.exp(s - s.max())
    p /= p.sum()
    grad_in = np.zeros_like(W_in)
    grad_in[centre] = W_out[context].sum(axis=0) - len(context) * (p @ W_out)
    grad_out = -len(context) * np.outer(p, v)
    grad_out[context] += v  # wrong: a repeated index is added once; np.add.at(grad_out, context, v)
    return grad_in, grad_out
