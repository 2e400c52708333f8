"""A student's attention that forgets to divide the scores by sqrt(d_k). Used by tests/test_harness.py."""
import numpy as np


def softmax(z, tau=1.0):
    e = np.exp((z - z.max(axis=-1, keepdims=True)) / tau)
    return e / e.sum(axis=-1, keepdims=True)


def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = Q @ np.swapaxes(K, -1, -2)  # missing: / np.sqrt(d_k)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    w = softmax(scores)
    return w @ V, w
