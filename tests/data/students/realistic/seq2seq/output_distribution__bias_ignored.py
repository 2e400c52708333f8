"""output_distribution without the output bias b: softmax(W h)."""

import numpy as np


def output_distribution(h_dec, W, b):
    z = np.asarray(h_dec, dtype=np.float64) @ np.asarray(W, dtype=np.float64).T  # the mistake: + b missing
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
