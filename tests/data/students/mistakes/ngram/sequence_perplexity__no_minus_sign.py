"""A student's perplexity without the minus sign."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.perplexity', 'no minus sign')]


def sequence_perplexity(log_probs):
    return np.exp(np.mean(np.asarray(log_probs, dtype=np.float64), axis=-1))  # wrong: exp(-mean log p)
