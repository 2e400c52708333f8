"""A student's Luong general score with W_a transposed."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('seq2seq.luong_general_score', 'W_a transposed')]


def luong_general_score(h_dec, h_enc, W_a):
    # wrong: h_dec^T W_a h_j is h_enc @ W_a.T @ h_dec
    return np.asarray(h_enc, dtype=np.float64) @ np.asarray(W_a, dtype=np.float64) @ np.asarray(h_dec, dtype=np.float64)
