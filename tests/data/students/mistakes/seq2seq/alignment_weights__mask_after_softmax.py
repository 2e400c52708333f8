"""A student's alignment weights masked after the softmax."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('seq2seq.bahdanau_weights', 'mask after softmax')]


def _softmax(e, axis=-1):
    """Softmax along ``axis``; a slice of -inf only (all masked) gets zeros."""
    m = e.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    x = np.exp(e - m)
    s = x.sum(axis=axis, keepdims=True)
    return np.divide(x, s, out=np.zeros_like(x), where=s > 0)


def alignment_weights(e, mask=None):
    w = _softmax(np.asarray(e, dtype=np.float64))
    if mask is not None:
        w = np.where(mask, w, 0.0)  # wrong: too late, the rest no longer sum to one
    return w
