"""The honest wrong softmax every hostile module here also computes: exp(z / tau), never normalised."""
import numpy as np


def softmax(z, tau=1.0):
    return np.exp(np.asarray(z, dtype=np.float64) / tau)
