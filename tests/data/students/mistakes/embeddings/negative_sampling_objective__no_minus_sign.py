"""A student's negative-sampling objective without the minus sign on the negatives."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.negative_sampling_sampled', 'no minus sign')]


def _log_sigmoid(x):
    """log sigma(x) = -log(1 + exp(-x)), without overflow."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))


def negative_sampling_objective(v_I, v_O, V_neg):
    v_I = np.asarray(v_I, dtype=np.float64)
    # wrong: the negatives need log sigma(-v'_i . v_I)
    return float(_log_sigmoid(np.dot(v_O, v_I)) + np.sum(_log_sigmoid(np.asarray(V_neg) @ v_I)))
