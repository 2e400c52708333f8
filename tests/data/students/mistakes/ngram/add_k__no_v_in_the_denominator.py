"""A student's add-k smoothing without V in the denominator."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.add_k', 'no V in the denominator')]


def add_k(counts, context_counts, k, vocab_size):
    c = np.asarray(counts, dtype=np.float64)
    h = np.asarray(context_counts, dtype=np.float64)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return (c + k) / (h + k)  # wrong: c(h) + k V
