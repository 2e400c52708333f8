"""A student's n-gram MLE over all n-grams: the denominator is every token, not the context's count."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('ngram.bigram_mle', 'divided by all bigrams'), ('ngram.trigram_mle', 'divided by all trigrams')]


def ngram_mle(counts, context_counts):
    c = np.asarray(counts, dtype=np.float64)
    return c / c.sum(axis=(-2, -1), keepdims=True)  # wrong: divide by c(h), the count of the context
