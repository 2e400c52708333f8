"""A student's perplexity that averages the probabilities instead of their logs."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.perplexity', 'no log')]


def sequence_perplexity(log_probs):
    probs = np.exp(np.asarray(log_probs, dtype=np.float64))
    score = probs.sum(axis=-1)  # wrong: the sum of log p_t, not of p_t
    return np.exp(-score / probs.shape[-1])
