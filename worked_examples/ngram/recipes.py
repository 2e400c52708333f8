"""Recipes for the ngram worked examples (language_modeling_basics.md).

A recipe takes the example's ``inputs`` and a backend, recomputes every quantity the page
prints with that backend's functions, and returns them by name; the suite judges the page's
claims against them. Written once for every backend: ``b.run`` returns native values and
``b.const`` / ``b.log`` work on them, so on SymPy every probability, logarithm and perplexity
is exact end to end. Counting (a table, not an equation) is done by the NumPy reference's
helpers; every probability goes through the backend.
"""

from __future__ import annotations

import numpy as np

from lmverify.backends import Backend
from reference.numpy.ngram import ngram_counts, pad, token_counts

T = "ngram"


def next_word_distribution(inputs: dict, b: Backend) -> dict:
    """"Worked Example: Predicting the Next Word": the four probabilities and their sum."""
    p = np.asarray(inputs["probabilities"], dtype=np.float64)
    # the printed values, their sum (exact on SymPy), and the distribution they define:
    # normalising it as a unigram MLE must leave it unchanged
    q = b.run(T, "unigram_mle", counts=p)
    return {"probabilities": q, "total": sum(b.const(v) for v in p), "min_probability": float(p.min())}


def bigram_counts(inputs: dict, b: Backend) -> dict:
    """"Worked Example: Bigram Counts from Four Sentences": pairs, counts, unigram counts, five MLEs."""
    sents = [s.split() for s in inputs["sentences"]]
    grams, first = ngram_counts(sents, 2)
    tok = token_counts(sents)
    vocab = sorted(tok)
    ix = {w: i for i, w in enumerate(vocab)}
    counts = np.zeros((len(vocab), len(vocab)))
    for (h, w), c in grams.items():
        counts[ix[h], ix[w]] = c
    ctx = np.array([first[(w,)] for w in vocab], dtype=np.float64)
    p = b.run(T, "ngram_mle", counts=counts, context_counts=ctx)
    out = {f"count_{h}_{w}": float(c) for (h, w), c in grams.items()}
    out["n_bigram_types"] = float(len(grams))
    out["n_bigram_tokens"] = float(sum(grams.values()))
    for w in vocab:
        out[f"unigram_{w}"] = float(tok[w])
        out[f"first_{w}"] = float(first[(w,)])
    for h, w in [("the", "cat"), ("the", "dog"), ("the", "mat"), ("cat", "sat"), ("cat", "ate")]:
        out[f"p_{w}_given_{h}"] = p[ix[h], ix[w]]
    # per sentence: the bigrams listed in step 1
    for i, s in enumerate(sents):
        out[f"bigrams_in_sentence_{i}"] = float(len(s) - 1)
    return out


def add_k_example(inputs: dict, b: Backend) -> dict:
    """"Worked Example: k = 0 versus k = 1": one context word (`cat`), its counts before each word of the
    vocabulary, and two values of k. Quantities are named by role, never by a value of k: ``first_case_*``
    for the box's first case (``k_values[0]``), ``second_case_*`` for its second (``k_values[1]``)."""
    vocab = list(inputs["vocabulary"])
    counts = np.array([np.asarray(inputs["counts_after_context"], dtype=np.float64)])  # one row: the context
    ctx = counts.sum(axis=1)
    V = len(vocab)
    out = {"vocab_size": float(V), "context_count": b.const(ctx[0])}
    for j, w in enumerate(vocab):
        out[f"count_{w}"] = b.const(counts[0, j])  # count(context, w): the numerators before smoothing
    for case, k in zip(("first_case", "second_case"), inputs["k_values"]):
        p = b.run(T, "add_k", counts=counts, context_counts=ctx, k=float(k), vocab_size=V)
        for j, w in enumerate(vocab):
            out[f"{case}_p_{w}"] = p[0, j]
            out[f"{case}_numerator_{w}"] = b.const(counts[0, j]) + b.const(k)
        out[f"{case}_denominator"] = b.const(ctx[0]) + b.const(k) * V
        out[f"{case}_total"] = sum(p[0, j] for j in range(V))
    return out


def interpolation_example(inputs: dict, b: Backend) -> dict:
    """"Worked Example: Numeric Interpolation (Toy Weights)"."""
    lam = np.array(inputs["lambdas"], dtype=np.float64)  # lambda_3, lambda_2, lambda_1
    ps = np.array(inputs["probabilities"], dtype=np.float64)  # P_tri, P_bi, P_uni
    terms = [b.const(lam[i]) * b.const(ps[i]) for i in range(3)]
    return {"p_interp": b.run(T, "interpolate", probabilities=ps, weights=lam), "term_tri": terms[0],
            "term_bi": terms[1], "term_uni": terms[2], "lambda_sum": sum(b.const(v) for v in lam)}


def five_token_perplexity(inputs: dict, b: Backend) -> dict:
    """"Worked Example: Five-Token Sentence": each log, the sum, the mean NLL, the perplexity."""
    p = np.array(inputs["probabilities"], dtype=np.float64)
    logs = b.log(b.const(p))
    out = {f"log_p{i}": logs[i] for i in range(len(p))}
    out["log_sum"] = sum(logs[i] for i in range(len(p)))
    out["neg_log_sum"] = -out["log_sum"]
    out["n_tokens"] = float(len(p))
    out["mean_nll"] = -out["log_sum"] / len(p)
    out["perplexity"] = b.run(T, "sequence_perplexity", log_probs=logs)
    out["cross_entropy_bits"] = b.run(T, "cross_entropy_bits", log_probs=logs)
    return out


def page_code(inputs: dict, b: Backend) -> dict:
    """The page's code block, recomputed: vocabulary size, add-1 trigram perplexity of the test
    sentence, and the three add-1 bigram probabilities it prints (k = 1, V counts <s> and </s>)."""
    corpus = [pad(s) for s in inputs["sentences"]]
    V = len({w for s in corpus for w in s})
    test = pad(inputs["test"])
    out = {"vocab_size": float(V)}
    grams, ctx = ngram_counts(corpus, 3)
    # one row per scored position (positions 2.. of the padded sentence), one column: its word
    hist = [(tuple(test[i - 2:i]), test[i]) for i in range(2, len(test))]
    p = b.run(T, "add_k", counts=np.array([[grams[h + (w,)]] for h, w in hist], float),
              context_counts=np.array([ctx[h] for h, _ in hist], float), k=1.0, vocab_size=V)
    logs = b.log(p).reshape(len(hist))
    out["trigram_perplexity"] = b.run(T, "sequence_perplexity", log_probs=logs)
    out["trigram_positions"] = float(len(hist))
    bi, bctx = ngram_counts(corpus, 2)
    for h, w in [("the", "cat"), ("the", "dog"), ("cat", "sat")]:
        p = b.run(T, "add_k", counts=np.array([[bi[(h, w)]]], float), context_counts=np.array([bctx[(h,)]], float),
                  k=1.0, vocab_size=V)
        out[f"p_{w}_given_{h}"] = p[0, 0]
    return out
