"""A student's GloVe weighting without the cap at 1."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('embeddings.glove_weighting', 'not capped')]


def glove_weight(x, x_max=100.0, alpha=0.75):
    return (np.asarray(x, dtype=np.float64) / x_max) ** alpha  # wrong: min(..., 1) for x >= x_max
