"""Registry entries of the ngram topic (language_modeling_basics.md): inputs, pinned extremes, errors, mistakes.

Laws particular to one equation, the oracles (KenLM's ARPA files and lmplz logs, the kenlm
package, NLTK), the symbolic proofs and the page's code stay in tests/test_ngram*.py.

Pinned inputs run on float32 too, so every pinned number is representable in float32.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lmverify import strategies as S
from lmverify.registry import Equation, ErrorInput, Mistake, Pinned

# -- the page's own numbers ----------------------------------------------------------------------
#: "Worked Example: Five-Token Sentence" (line 199): p = 0.20, 0.15, 0.10, 0.30, 0.05
PAGE_FIVE_TOKEN_LOGS = np.log(np.array([0.20, 0.15, 0.10, 0.30, 0.05]))
#: "Worked Example: k = 0 versus k = 1": vocabulary {cat, dog, sat}, 'cat' seen once, before 'sat'
PAGE_ADD_K_COUNTS = np.array([[0.0, 0.0, 1.0]])
#: "Worked Example: Numeric Interpolation (Toy Weights)": P_tri, P_bi, P_uni and lambda_3, lambda_2, lambda_1
PAGE_INTERP_P, PAGE_INTERP_W = np.array([0.0, 0.2, 0.01]), np.array([0.6, 0.3, 0.1])

# -- inputs --------------------------------------------------------------------------------------


def _lead(batch):
    return () if batch is None else (batch,)


#: probabilities that are multiples of 1/8 in [0, 1] (exact for SymPy)
_eighths = st.integers(0, 8).map(lambda i: i / 8.0)


def _chain_rule_inputs(exact: bool = False, batch: int | None = None):
    return st.integers(1, 5).flatmap(
        lambda T: st.fixed_dictionaries({"conditionals": hnp.arrays(np.float64, _lead(batch) + (T,), elements=_eighths)}))


def _markov_inputs(exact: bool = False):
    return st.fixed_dictionaries({"joint": S.sequence_joints(max_vocab=2, length=3), "order": st.integers(0, 2)})


@S.composite
def _count_table(draw, batch, *, max_contexts=4, max_vocab=5, allow_empty_rows=True):
    h, v = draw(st.integers(1, max_contexts)), draw(st.integers(1, max_vocab))
    c = draw(hnp.arrays(np.int64, _lead(batch) + (h, v), elements=st.integers(0, 6))).astype(np.float64)
    if not allow_empty_rows:
        c[..., 0][c.sum(axis=-1) == 0] = 1.0
    return c


# Count tables are drawn two ways: counted from a corpus (lmverify.strategies.corpus_count_tables: a small
# vocabulary, so most corpora repeat a word and some have every token distinct; the vocabulary is the words
# seen, so no column is all zero) and as free integer tables (zeros, unseen words and unseen contexts
# included). Batched draws use free tables (corpora of one batch would differ in shape).


def _unigram_inputs(exact: bool = False, batch: int | None = None):
    free = _count_table(batch, max_contexts=1, allow_empty_rows=False).map(lambda c: {"counts": c[..., 0, :]})
    if batch is not None:
        return free
    return st.one_of(S.corpus_count_tables(1).map(lambda t: {"counts": t["counts"][0]}), free)


def _mle_inputs_of(order: int):
    def inputs(exact: bool = False, batch: int | None = None):
        free = _count_table(batch).map(lambda c: {"counts": c, "context_counts": c.sum(axis=-1)})
        if batch is not None:
            return free
        return st.one_of(S.corpus_count_tables(order).map(
            lambda t: {"counts": t["counts"], "context_counts": t["context_counts"]}), free)

    return inputs


@S.composite
def _add_k_inputs(draw, exact: bool = False, batch: int | None = None):
    if batch is None and draw(st.booleans()):
        t = draw(S.corpus_count_tables(draw(st.integers(2, 3))))
        c, ctx = t["counts"], t["context_counts"]
    else:
        c = draw(_count_table(batch))
        ctx = c.sum(axis=-1)
    return {"counts": c, "context_counts": ctx, "k": draw(st.sampled_from([0.125, 0.5, 1.0, 2.0, 8.0])),
            "vocab_size": c.shape[-1]}


@S.composite
def _interpolate_inputs(draw, exact: bool = False):
    n = draw(st.integers(1, 5))
    ps = np.stack([draw(S.probability_vectors(min_len=n, max_len=n)) for _ in range(3)])
    return {"probabilities": ps, "weights": draw(S.probability_vectors(min_len=3, max_len=3))}


@S.composite
def _backoff_inputs(draw, exact: bool = False):
    c = draw(S.count_tables(max_contexts=3, max_vocab=4))
    ps = np.stack([draw(S.probability_vectors(min_len=c.shape[1], max_len=c.shape[1])) for _ in range(c.shape[0])])
    return {"probabilities": ps, "counts": c}


def _log_prob_inputs(exact: bool = False, batch: int | None = None):
    el = st.integers(-64, 0).map(lambda i: i / 8.0)
    return st.integers(1, 6).flatmap(
        lambda T: st.fixed_dictionaries({"log_probs": hnp.arrays(np.float64, _lead(batch) + (T,), elements=el)}))


@S.composite
def _kn_inputs(draw, exact: bool = False, batch: int | None = None):
    counts = draw(_count_table(batch, max_contexts=3, max_vocab=4))
    v = counts.shape[-1]
    w = draw(hnp.arrays(np.int64, counts.shape, elements=st.integers(0, 8))).astype(np.float64)
    w[..., 0][w.sum(axis=-1) == 0] = 1.0
    D = np.array(draw(st.sampled_from([(0.5, 1.0, 1.5), (0.25, 0.75, 1.25), (0.5, 0.5, 0.5)])))
    assert w.shape[-1] == v
    return {"counts": counts, "lower": w / w.sum(axis=-1, keepdims=True), "discounts": D}


def _discount_inputs(exact: bool = False, batch: int | None = None):
    return st.fixed_dictionaries({"counts_of_counts": hnp.arrays(np.float64, _lead(batch) + (4,),
                                                                 elements=st.integers(1, 40).map(float))})


def _continuation_inputs(exact: bool = False):
    return S.count_tables(max_contexts=4, max_vocab=4).map(lambda c: {"counts": c})


# -- known student mistakes (NumPy, same parameters) ------------------------------------------------


def _chain_rule_sum(conditionals):
    return np.sum(conditionals, axis=-1)


def _markov_full_history(joint, order):
    """The full-history conditionals whatever the order (no Markov truncation)."""
    from reference.numpy.ngram import sequence_conditionals

    return sequence_conditionals(joint)


def _unigram_over_types(counts):
    c = np.asarray(counts, dtype=np.float64)
    return c / c.shape[-1]


def _unigram_over_distinct(counts):
    """N taken as the number of distinct words seen (types) instead of all tokens."""
    c = np.asarray(counts, dtype=np.float64)
    return c / np.count_nonzero(c, axis=-1)[..., None]


def _mle_over_distinct(counts, context_counts):
    """count(h) taken as the number of distinct words seen after h; an unseen context stays 0."""
    c = np.asarray(counts, dtype=np.float64)
    n = np.count_nonzero(c, axis=-1)[..., None].astype(np.float64)
    return np.divide(c, n, out=np.zeros(c.shape), where=n > 0)


def _add_k_over_distinct(counts, context_counts, k, vocab_size):
    """(c + k) / (number of distinct words seen after h + k V)."""
    c = np.asarray(counts, dtype=np.float64)
    return (c + k) / (np.count_nonzero(c, axis=-1)[..., None] + k * vocab_size)


def _mle_over_total(counts, context_counts):
    c = np.asarray(counts, dtype=np.float64)
    return c / c.sum(axis=(-2, -1), keepdims=True)


def _add_k_no_v(counts, context_counts, k, vocab_size):
    c = np.asarray(counts, dtype=np.float64)
    return (c + k) / (np.asarray(context_counts, dtype=np.float64)[..., None] + k)


def _add_k_numerator_only(counts, context_counts, k, vocab_size):
    c = np.asarray(counts, dtype=np.float64)
    return (c + k) / np.asarray(context_counts, dtype=np.float64)[..., None]


def _interpolate_reversed(probabilities, weights):
    return np.tensordot(np.asarray(weights)[::-1], np.asarray(probabilities), axes=1)


def _backoff_lowest_first(probabilities, counts):
    p, c = np.asarray(probabilities), np.asarray(counts)
    out = p[0].copy()
    for i in range(1, p.shape[0]):
        out = np.where(c[i] > 0, p[i], out)
    return out


def _perplexity_of_sum(log_probs):
    return np.exp(-np.sum(log_probs, axis=-1))


def _perplexity_no_log(log_probs):
    """exp(-(1/T) sum_t p_t): the probabilities averaged where their logs belong."""
    return np.exp(-np.mean(np.exp(np.asarray(log_probs, dtype=np.float64)), axis=-1))


def _perplexity_log_probs_multiplied(log_probs):
    """(prod_t x_t)^(-1/T), the perplexity of probabilities, applied to the log-probabilities given
    (NaN where the product of the negative log-probabilities is negative, inf where it is 0)."""
    lp = np.asarray(log_probs, dtype=np.float64)
    return np.prod(lp, axis=-1) ** (-1.0 / lp.shape[-1])


def _perplexity_no_minus(log_probs):
    return np.exp(np.mean(log_probs, axis=-1))


def _cross_entropy_nats(log_probs):
    return -np.mean(log_probs, axis=-1)


def _kn_no_gamma(counts, lower, discounts):
    a = np.asarray(counts, dtype=np.float64)
    D1, D2, D3 = discounts
    d = np.where(a <= 0, 0.0, np.where(a < 2, D1, np.where(a < 3, D2, D3)))
    total = a.sum(axis=-1, keepdims=True)
    return np.where(total > 0, (a - d) / np.where(total > 0, total, 1.0), 0.0) + np.asarray(lower)


def _kn_single_discount(counts, lower, discounts):
    """D1 for every count (one discount), with gamma built from that same discount."""
    a = np.asarray(counts, dtype=np.float64)
    D1 = np.asarray(discounts, dtype=np.float64)[0]
    d = np.where(a > 0, D1, 0.0)
    total = a.sum(axis=-1, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    gamma = np.where(total > 0, d.sum(axis=-1, keepdims=True) / safe, 1.0)
    return (a - d) / safe + gamma * np.asarray(lower, dtype=np.float64)


def _discounts_y_over_n1_n2(counts_of_counts):
    n = np.asarray(counts_of_counts, dtype=np.float64)
    n1, n2, n3, n4 = n[..., 0], n[..., 1], n[..., 2], n[..., 3]
    Y = n1 / (n1 + n2)
    return np.stack([1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3], axis=-1)


def _continuation_raw(counts):
    return np.asarray(counts, dtype=np.float64).sum(axis=0)


# -- entries ------------------------------------------------------------------------------------------

_UNIFORM_1E5 = np.full(50, -math.log(1e5))

EQUATIONS = (
    Equation(
        "ngram.chain_rule",
        inputs=_chain_rule_inputs,
        batch_args=("conditionals",),
        pinned=(Pinned("tiny conditionals (product 1e-30)", {"conditionals": np.array([1e-10, 1e-10, 1e-10])}),
                Pinned("a zero factor", {"conditionals": np.array([0.5, 0.0, 1.0])}),
                Pinned("the page's five-token probabilities", {"conditionals": np.exp(PAGE_FIVE_TOKEN_LOGS)}),
                Pinned("forty factors of 1/2", {"conditionals": np.full(40, 0.5)})),
        errors=(ErrorInput("a conditional > 1", {"conditionals": np.array([0.5, 1.5])}, ValueError,
                           "conditionals must hold probabilities in \\[0, 1\\]"),
                ErrorInput("a negative conditional", {"conditionals": np.array([0.5, -0.5])}, ValueError,
                           "conditionals must hold probabilities in \\[0, 1\\]"),
                ErrorInput("NaN", {"conditionals": np.array([0.5, np.nan])}, ValueError, "conditionals contains NaN")),
        mistakes=(Mistake("sum", "adding the conditionals instead of multiplying them", _chain_rule_sum),),
        grad=("conditionals",),
        grad_at={"conditionals": [0.5, 0.25, 0.75]},
    ),
    Equation(
        "ngram.markov_assumption",
        inputs=_markov_inputs,
        pinned=(Pinned("w3 copies w1 (not Markov), order 1", {"joint": np.array([[[0.25, 0.0], [0.25, 0.0]],
                                                                                  [[0.0, 0.25], [0.0, 0.25]]]),
                                                              "order": 1}),),
        errors=(ErrorInput("NaN in the joint", {"joint": np.array([[0.5, np.nan], [0.25, 0.25]]), "order": 1},
                           ValueError, "joint contains NaN"),),
        mistakes=(Mistake("full history", "conditioning on the whole history instead of the last `order` words",
                          _markov_full_history),),
    ),
    Equation(
        "ngram.unigram_mle",
        inputs=_unigram_inputs,
        batch_args=("counts",),
        # "zeros" first: there N (5), V (4) and the distinct words seen (2) differ, so the first failure of
        # either N mistake names it alone
        pinned=(Pinned("zeros", {"counts": np.array([0.0, 4.0, 0.0, 1.0])}),
                Pinned("large counts (1e7 next to 1)", {"counts": np.array([1e7, 1.0, 1.0])}),
                Pinned("ties", {"counts": np.array([3.0, 3.0, 3.0])})),
        mistakes=(Mistake("divided by V", "dividing by the number of word types V instead of the total count",
                          _unigram_over_types),
                  Mistake("N = distinct words", "N counted as the number of distinct words seen (types, "
                          "len(set(tokens))) instead of all tokens: right only when no word repeats",
                          _unigram_over_distinct)),
        grad=("counts",),
        grad_at={"counts": [1.0, 2.0, 5.0]},
    ),
    Equation(
        "ngram.bigram_mle",
        inputs=_mle_inputs_of(2),
        batch_args=("counts", "context_counts"),
        pinned=(Pinned("an unseen context (0 / 0 -> 0)", {"counts": np.array([[0.0, 0.0], [1.0, 3.0]]),
                                                          "context_counts": np.array([0.0, 4.0])}),
                Pinned("large counts (1e7)", {"counts": np.array([[1e7, 1.0]]), "context_counts": np.array([1e7 + 1])}),
                Pinned("two seen contexts", {"counts": np.array([[1.0, 1.0], [2.0, 0.0]]),
                                             "context_counts": np.array([2.0, 2.0])})),
        mistakes=(Mistake("divided by all bigrams", "count(h, w) / (number of all bigrams) instead of / count(h)",
                          _mle_over_total),
                  Mistake("count(h) = distinct words after h", "count(h) counted as the number of distinct words "
                          "seen after h (types) instead of all the bigrams that start with h: right only when no "
                          "bigram repeats", _mle_over_distinct)),
    ),
    Equation(
        "ngram.trigram_mle",
        inputs=_mle_inputs_of(3),
        pinned=(Pinned("two trigram contexts", {"counts": np.array([[2.0, 0.0, 1.0], [0.0, 5.0, 5.0]]),
                                                "context_counts": np.array([3.0, 10.0])}),),
        mistakes=(Mistake("divided by all trigrams", "count(h, w) / (number of all trigrams) instead of / count(h)",
                          _mle_over_total),
                  Mistake("count(h) = distinct words after h", "count(h) counted as the number of distinct words "
                          "seen after h (types) instead of all the trigrams that start with h: right only when no "
                          "trigram repeats", _mle_over_distinct)),
    ),
    Equation(
        "ngram.add_k",
        inputs=_add_k_inputs,
        batch_args=("counts", "context_counts"),
        pinned=(Pinned("the page's k = 1 example (cat, dog, sat)", {"counts": PAGE_ADD_K_COUNTS,
                                                                    "context_counts": np.array([1.0]), "k": 1.0,
                                                                    "vocab_size": 3}),
                Pinned("tiny k (1e-6) on large counts (1e6)", {"counts": np.array([[1e6, 0.0, 2.0]]),
                                                               "context_counts": np.array([1e6 + 2]), "k": 1e-6,
                                                               "vocab_size": 3}),
                Pinned("large k (1e6): nearly uniform", {"counts": np.array([[4.0, 0.0]]), "context_counts": np.array([4.0]),
                                                         "k": 1e6, "vocab_size": 2}),
                Pinned("an unseen context", {"counts": np.zeros((1, 4)), "context_counts": np.zeros(1), "k": 0.5,
                                             "vocab_size": 4})),
        mistakes=(Mistake("no V in the denominator", "add-k without the V in the denominator: (c + k) / (count(h) + k)",
                          _add_k_no_v),
                  Mistake("numerator only", "adding k to the numerator only: (c + k) / count(h)", _add_k_numerator_only),
                  Mistake("count(h) = distinct words after h", "add-k with count(h) counted as the number of distinct "
                          "words seen after h (types) instead of all the n-grams that start with h: (c + k) / "
                          "(#distinct + k V)", _add_k_over_distinct)),
        grad=("counts", "context_counts"),
        grad_at={"counts": [[1.0, 0.0, 2.0]], "context_counts": [3.0], "k": 0.5, "vocab_size": 3},
    ),
    Equation(
        "ngram.interpolation",
        inputs=_interpolate_inputs,
        pinned=(Pinned("the page's toy weights (0.6, 0.3, 0.1)", {"probabilities": PAGE_INTERP_P, "weights": PAGE_INTERP_W}),
                Pinned("one weight 1 (a single order)", {"probabilities": np.array([[0.5, 0.5], [1.0, 0.0]]),
                                                         "weights": np.array([0.0, 1.0])})),
        errors=(ErrorInput("weights summing to 1.5", {"probabilities": np.ones((3, 2)) / 2,
                                                      "weights": np.array([0.5, 0.5, 0.5])}, ValueError,
                           "weights must be on the simplex"),
                ErrorInput("a negative weight", {"probabilities": np.ones((3, 2)) / 2,
                                                 "weights": np.array([1.5, -0.5, 0.0])}, ValueError,
                           "weights must be on the simplex"),
                ErrorInput("one weight too few", {"probabilities": np.ones((3, 2)) / 2, "weights": np.array([0.5, 0.5])},
                           ValueError, "weights must have one entry per order")),
        mistakes=(Mistake("weights reversed", "the weights in reverse order (lambda_1 on the trigram)",
                          _interpolate_reversed),),
        grad=("probabilities",),
        grad_at={"probabilities": [[0.5, 0.5], [0.25, 0.75], [1.0, 0.0]], "weights": [0.5, 0.25, 0.25]},
    ),
    Equation(
        "ngram.backoff",
        inputs=_backoff_inputs,
        pinned=(Pinned("every order unseen for one word", {"probabilities": np.array([[0.5, 0.5, 0.0], [0.25, 0.25, 0.5],
                                                                                      [0.2, 0.3, 0.5]]),
                                                           "counts": np.array([[1.0, 0.0, 0.0], [2.0, 1.0, 0.0],
                                                                               [3.0, 1.0, 4.0]])}),),
        mistakes=(Mistake("lowest order first", "preferring the lowest order with a count instead of the highest",
                          _backoff_lowest_first),),
    ),
    Equation(
        "ngram.perplexity",
        inputs=_log_prob_inputs,
        batch_args=("log_probs",),
        pinned=(Pinned("the page's five tokens (p = 0.20, 0.15, 0.10, 0.30, 0.05)", {"log_probs": PAGE_FIVE_TOKEN_LOGS}),
                Pinned("certain tokens (log p = 0)", {"log_probs": np.zeros(4)}),
                Pinned("a uniform model over 1e5 words, 50 tokens", {"log_probs": _UNIFORM_1E5}),
                Pinned("large NLL (50 nats: 5e21, within float32)", {"log_probs": np.array([-50.0])})),
        mistakes=(Mistake("exp of the sum", "perplexity as exp of the SUM of the log-probabilities instead of the mean",
                          _perplexity_of_sum),
                  Mistake("no minus sign", "exp(mean log p) without the minus sign: 1 / perplexity",
                          _perplexity_no_minus),
                  Mistake("no log", "averaging the probabilities p_t instead of their logs: exp(-(1/T) sum_t p_t)",
                          _perplexity_no_log),
                  Mistake("log-probabilities multiplied", "the perplexity of probabilities, (prod_t x_t)^(-1/T), "
                          "applied to log-probabilities (log_probs holds log p_t: exp(-(1/T) sum_t log p_t))",
                          _perplexity_log_probs_multiplied)),
        grad=("log_probs",),
        grad_at={"log_probs": [-0.5, -1.25, -2.0]},
    ),
    Equation(
        "ngram.perplexity_cross_entropy",
        inputs=_log_prob_inputs,
        batch_args=("log_probs",),
        pinned=(Pinned("the page's five tokens", {"log_probs": PAGE_FIVE_TOKEN_LOGS}),
                Pinned("a uniform model over 1e5 words", {"log_probs": _UNIFORM_1E5})),
        mistakes=(Mistake("nats", "the cross-entropy in nats (natural log) where bits (log2) are asked",
                          _cross_entropy_nats),),
        grad=("log_probs",),
        grad_at={"log_probs": [-0.5, -1.25, -2.0]},
    ),
    Equation(
        "ngram.kneser_ney_interpolated",
        inputs=_kn_inputs,
        batch_args=("counts", "lower"),
        pinned=(Pinned("counts of 1, 2, 3 and 5 (D1, D2, D3+) and an unseen context",
                       {"counts": np.array([[1.0, 2.0, 3.0, 5.0], [0.0, 0.0, 0.0, 0.0]]),
                        "lower": np.array([[0.25, 0.25, 0.25, 0.25], [0.5, 0.25, 0.125, 0.125]]),
                        "discounts": np.array([0.5, 1.0, 1.5])}),
                Pinned("large counts (1e6)", {"counts": np.array([[1e6, 1.0, 0.0]]), "lower": np.array([[0.5, 0.25, 0.25]]),
                                              "discounts": np.array([0.75, 1.0, 1.25])})),
        mistakes=(Mistake("no back-off weight", "adding the lower order without its back-off weight gamma(h)",
                          _kn_no_gamma),
                  Mistake("a single discount", "one discount D1 for every count (modified Kneser-Ney takes D1 for "
                          "count 1, D2 for count 2 and D3+ for counts of 3 and more)", _kn_single_discount)),
        grad=("lower",),
        grad_at={"counts": [[1.0, 2.0, 0.0], [0.0, 0.0, 0.0]], "lower": [[0.5, 0.25, 0.25], [0.25, 0.5, 0.25]],
                 "discounts": [0.5, 1.0, 1.5]},
    ),
    Equation(
        "ngram.kneser_ney_discounts",
        inputs=_discount_inputs,
        batch_args=("counts_of_counts",),
        pinned=(Pinned("ordinary counts of counts", {"counts_of_counts": np.array([10.0, 5.0, 3.0, 2.0])}),
                Pinned("large counts of counts (1e6)", {"counts_of_counts": np.array([1e6, 4e5, 2e5, 1e5])})),
        errors=(ErrorInput("three counts of counts", {"counts_of_counts": np.array([1.0, 2.0, 3.0])}, ValueError,
                           "counts_of_counts must be \\(n1, n2, n3, n4\\)"),),
        mistakes=(Mistake("Y = n1 / (n1 + n2)", "Y = n1 / (n1 + n2) instead of n1 / (n1 + 2 n2)",
                          _discounts_y_over_n1_n2),),
        grad=("counts_of_counts",),
        grad_at={"counts_of_counts": [10.0, 5.0, 3.0, 2.0]},
    ),
    Equation(
        "ngram.continuation_counts",
        inputs=_continuation_inputs,
        pinned=(Pinned("'francisco' after one context only", {"counts": np.array([[5.0, 0.0], [0.0, 1.0], [0.0, 2.0]])}),),
        mistakes=(Mistake("raw counts", "summing the raw counts instead of counting distinct left contexts",
                          _continuation_raw),),
    ),
)
