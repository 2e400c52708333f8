"""A student's GRU interpolation in PyTorch's convention."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.gru_interpolate', "PyTorch's update convention")]


def gru_interpolate(h_prev, z, h_tilde):
    z = np.asarray(z)
    return z * h_prev + (1 - z) * h_tilde  # wrong: the page's (1 - z) * h_prev + z * h_tilde
