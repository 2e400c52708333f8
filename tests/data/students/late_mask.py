"""A student's attention that applies the causal mask too late (zeroing weights after normalising). Used by tests/test_harness.py."""
import numpy as np


def scaled_dot_product_attention(Q, K, V, mask=None):
    scores = Q @ np.swapaxes(K, -1, -2) / np.sqrt(Q.shape[-1])
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    w = e / e.sum(axis=-1, keepdims=True)
    if mask is not None:
        w = np.where(mask, w, 0.0)  # wrong: zeroing after the softmax leaves rows that do not sum to one
    return w @ V, w
