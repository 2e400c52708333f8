"""A student's context vector from the first encoder state."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('seq2seq.context_vector', 'first state')]


def context_vector(hs_enc):
    return np.asarray(hs_enc, dtype=np.float64)[..., 0, :]  # wrong: the LAST state h_T
