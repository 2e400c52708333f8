"""A student's alignment weights normalised over the decoder steps (axis 0)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('seq2seq.bahdanau_weights', 'softmax over decoder steps')]


def _softmax(e, axis=-1):
    """Softmax along ``axis``; a slice of -inf only (all masked) gets zeros."""
    m = e.max(axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    x = np.exp(e - m)
    s = x.sum(axis=axis, keepdims=True)
    return np.divide(x, s, out=np.zeros_like(x), where=s > 0)


def alignment_weights(e, mask=None):
    e = np.asarray(e, dtype=np.float64)
    if mask is not None:
        e = np.where(mask, e, -np.inf)
    return _softmax(e, axis=0)  # wrong: over the source positions j, the last axis
