"""A student's label smoothing that always uses torch's convention."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.label_smoothing', "torch's convention for the page's")]


def label_smoothing_targets(target, num_classes, epsilon, convention="page"):
    onehot = np.eye(num_classes)[np.asarray(target)]
    return onehot * (1 - epsilon) + epsilon / num_classes  # wrong: the convention argument is ignored
