"""A student's perplexity that always exponentiates with e."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.perplexity_bits', 'base ignored')]


def perplexity(nll, base=None):
    return np.exp(np.mean(np.asarray(nll, dtype=np.float64), axis=-1))  # wrong: NLLs in bits need 2 ** mean
