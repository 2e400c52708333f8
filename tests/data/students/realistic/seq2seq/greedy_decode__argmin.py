"""greedy_decode that picks the LEAST likely token at each step (argmin for argmax)."""

import numpy as np


def greedy_decode(step, steps, eos=None):
    tokens, score = [], 0.0
    for _ in range(int(steps)):
        lp = np.asarray(step(tuple(tokens)), dtype=np.float64)
        y = int(np.argmin(lp))  # the mistake
        tokens.append(y)
        score += lp[y]
        if eos is not None and y == eos:
            break
    return np.asarray(tokens, dtype=np.float64), np.float64(score)
