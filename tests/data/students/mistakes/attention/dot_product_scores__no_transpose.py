"""A student's attention scores: Q K, the keys not transposed."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('attention.dot_product_score', 'no transpose')]


def dot_product_scores(Q, K):
    return np.asarray(Q) @ np.asarray(K)  # wrong: e_ij = q_i . k_j needs K transposed
