"""A student's add-k (add-one) n-gram model whose context count is the number of distinct followers."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.add_k', 'count(h) = distinct words after h')]


def add_k(counts, context_counts, k, vocab_size):
    c = np.asarray(counts, dtype=np.float64)
    distinct = (c > 0).sum(axis=-1, keepdims=True)  # wrong: count(h) counts every n-gram starting with h
    return (c + k) / (distinct + k * vocab_size)
