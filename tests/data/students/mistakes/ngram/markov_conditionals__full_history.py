"""A student's Markov conditionals that condition on the whole history (order ignored)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.markov_assumption', 'full history')]


def markov_conditionals(joint, order):
    """cond[t][w_1..w_T] = P(w_{t+1} | the last `order` words before it), 0 where that history never occurs."""
    joint = np.asarray(joint, dtype=np.float64)
    T = joint.ndim
    out = []
    for t in range(T):
        first = 0  # wrong: the history starts at max(0, t - order)
        others = tuple(i for i in range(T) if not first <= i <= t)
        marginal = joint.sum(axis=others, keepdims=True)          # P(w_first..w_t)
        history = marginal.sum(axis=t, keepdims=True)             # P(w_first..w_{t-1})
        cond = np.divide(marginal, history, out=np.zeros(marginal.shape), where=history > 0)
        out.append(np.broadcast_to(cond, joint.shape))
    return np.stack(out)
