"""A student's perplexity written for probabilities, (prod p)^(-1/T), called with log-probabilities."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.perplexity', 'log-probabilities multiplied')]


def sequence_perplexity(log_probs):
    p = np.asarray(log_probs, dtype=np.float64)  # wrong: these are log p_t, not p_t
    return np.prod(p, axis=-1) ** (-1.0 / p.shape[-1])
