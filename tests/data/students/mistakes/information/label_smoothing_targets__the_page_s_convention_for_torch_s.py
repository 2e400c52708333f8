"""A student's label smoothing that always uses the page's convention."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.label_smoothing', "the page's convention for torch's")]


def label_smoothing_targets(target, num_classes, epsilon, convention="page"):
    onehot = np.eye(num_classes)[np.asarray(target)]
    return onehot * (1 - epsilon) + (1 - onehot) * epsilon / (num_classes - 1)  # wrong: convention ignored
