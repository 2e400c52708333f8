"""A student's page-convention label smoothing that spreads eps/K (not eps/(K-1)) over the other classes."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.label_smoothing', 'eps/K off-target in the page convention')]


def label_smoothing_targets(target, num_classes, epsilon, convention="page"):
    onehot = np.eye(num_classes)[np.asarray(target)]
    if convention == "page":
        return onehot * (1 - epsilon) + (1 - onehot) * epsilon / num_classes  # wrong: eps / (K - 1)
    return onehot * (1 - epsilon) + epsilon / num_classes
