"""Replaces the references (NumPy and torch) and the SymPy form with its own wrong softmax, so the oracle agrees."""
import numpy as np

import reference.numpy.attention as RN
import reference.torch.attention as RT
import specs.attention as SP


def softmax(z, tau=1.0):
    return np.exp(np.asarray(z, dtype=np.float64) / tau)


RN.softmax = softmax
RT.softmax = lambda z, tau=1.0: __import__("torch").exp(z / tau)
SP.softmax = softmax
