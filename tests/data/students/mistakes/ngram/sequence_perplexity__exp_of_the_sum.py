"""A student's perplexity from the total log-probability."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.perplexity', 'exp of the sum')]


def sequence_perplexity(log_probs):
    return np.exp(-np.sum(np.asarray(log_probs, dtype=np.float64), axis=-1))  # wrong: the mean, (1/T) sum
