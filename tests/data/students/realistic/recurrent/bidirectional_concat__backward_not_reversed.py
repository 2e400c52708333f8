"""bidirectional_concat that pairs the backward pass's states with the forward ones in the order the backward
RNN produced them (not reversed back, so position t gets the backward state of position T-1-t)."""

import numpy as np


def bidirectional_concat(hs_forward, hs_backward):
    f = np.asarray(hs_forward, dtype=np.float64)
    bwd = np.asarray(hs_backward, dtype=np.float64)
    return np.concatenate([f, bwd], axis=-1)  # the mistake: bwd not flipped back
