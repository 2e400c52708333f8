"""A student's hierarchical softmax that takes sigma(v'.v) at every node."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.hierarchical_softmax', 'no sign')]


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def hierarchical_softmax(v_I, node_vectors, codes, points):
    """P(w | w_I) = product over the nodes of w's path of sigma(sign * v'_node . v_I)."""
    v_I = np.asarray(v_I, dtype=np.float64)
    N = np.asarray(node_vectors, dtype=np.float64)
    probs = []
    for code, point in zip(codes, points):
        p = 1.0
        for bit, node in zip(code, point):
            sign = 1.0  # wrong: the branch taken (the code bit) decides the sign
            p *= _sigmoid(sign * (N[node] @ v_I))
        probs.append(p)
    return np.array(probs)
