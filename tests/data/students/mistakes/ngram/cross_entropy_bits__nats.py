"""A student's cross-entropy in nats where bits are asked."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.perplexity_cross_entropy', 'nats')]


def cross_entropy_bits(log_probs):
    return -np.mean(np.asarray(log_probs, dtype=np.float64), axis=-1)  # wrong: log2, divide by ln 2
