"""A student's perplexity that exponentiates the total NLL."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.perplexity', 'exp of the sum'), ('information.perplexity_chain', 'exp of the sum')]


def perplexity(nll, base=None):
    b = np.e if base is None else base
    return b ** np.sum(np.asarray(nll, dtype=np.float64), axis=-1)  # wrong: the MEAN NLL per token
