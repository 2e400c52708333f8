"""A student's chain rule that adds the conditionals."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.chain_rule', 'sum')]


def chain_rule_joint(conditionals):
    return np.sum(np.asarray(conditionals, dtype=np.float64), axis=-1)  # wrong: a product of conditionals
