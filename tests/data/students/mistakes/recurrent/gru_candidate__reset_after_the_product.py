"""A student's GRU candidate with PyTorch's reset placement r * (W_h h)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.gru_candidate', 'reset after the product')]


def gru_candidate(x, h_prev, r, W, b=None):
    x, h_prev, W = (np.asarray(a, dtype=np.float64) for a in (x, h_prev, W))
    d_h = h_prev.shape[-1]
    # wrong: the page resets BEFORE the product, W [r * h; x]
    return np.tanh(np.asarray(r) * (h_prev @ W[:, :d_h].T) + x @ W[:, d_h:].T + (0.0 if b is None else b))
