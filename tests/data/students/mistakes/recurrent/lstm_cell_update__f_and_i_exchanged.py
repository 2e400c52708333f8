"""A student's cell update with the forget and input gates exchanged."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.lstm_cell_update', 'f and i exchanged')]


def lstm_cell_update(f, c_prev, i, c_tilde):
    return np.asarray(i) * c_prev + np.asarray(f) * c_tilde  # wrong: f keeps the old cell, i admits the candidate
