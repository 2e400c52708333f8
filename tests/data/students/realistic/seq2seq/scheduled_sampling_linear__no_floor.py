"""scheduled_sampling_linear without the floor epsilon: k - c i, which goes negative."""

import numpy as np


def scheduled_sampling_linear(i, k, c, epsilon):
    return np.float64(k) - np.float64(c) * np.asarray(i, dtype=np.float64)  # the mistake: max(epsilon, .) left out
