"""The bidirectional encoder's states concatenated backward first, [<-h_t; ->h_t] (the page: [->h_t; <-h_t])."""

import numpy as np


def bidirectional_concat(hs_forward, hs_backward):
    f = np.asarray(hs_forward, dtype=np.float64)
    bwd = np.flip(np.asarray(hs_backward, dtype=np.float64), axis=-2)
    return np.concatenate([bwd, f], axis=-1)  # the mistake: backward first
