"""glove_weight with the exponent fixed at 3/4, whatever alpha it is given."""

import numpy as np


def glove_weight(x, x_max=100.0, alpha=0.75):
    return np.minimum((np.asarray(x, dtype=np.float64) / x_max) ** 0.75, 1.0)  # the mistake: alpha ignored
