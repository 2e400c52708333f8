"""unigram_noise that always raises the counts to 3/4, whatever power it is given."""

import numpy as np


def unigram_noise(counts, power=0.75):
    w = np.asarray(counts, dtype=np.float64) ** 0.75  # the mistake: power ignored
    return w / w.sum()
