"""A student's n-gram MLE whose context count is the number of distinct words that followed the context."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.bigram_mle', 'count(h) = distinct words after h'),
            ('ngram.trigram_mle', 'count(h) = distinct words after h')]


def ngram_mle(counts, context_counts):
    c = np.asarray(counts, dtype=np.float64)
    out = np.zeros(c.shape)
    for idx in np.ndindex(c.shape[:-1]):
        followers = {w: n for w, n in enumerate(c[idx]) if n > 0}
        if followers:
            out[idx] = c[idx] / len(followers)  # wrong: count(h) = sum(followers.values())
    return out
