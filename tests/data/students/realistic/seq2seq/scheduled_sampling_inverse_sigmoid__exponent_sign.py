"""scheduled_sampling_inverse_sigmoid with exp(-i / k) for exp(i / k): the probability of the truth then grows."""

import numpy as np


def scheduled_sampling_inverse_sigmoid(i, k):
    return k / (k + np.exp(-np.float64(i) / k))  # the mistake: the sign of the exponent
