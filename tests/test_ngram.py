"""Language modeling basics (language_modeling_basics.md): chain rule, n-gram MLE, add-k,
interpolation, the page's backoff rule, perplexity. Kneser-Ney and ARPA: test_ngram_kneser_ney.py.

Agreement of every backend with its oracle (SymPy exact -> NumPy -> torch), one signature in the
three forms, pinned extremes, batching, gradients, refused inputs and known student mistakes (add-k
without V, perplexity as exp of the sum, ...) are generated from lmverify/registry/ngram.py
(tests/test_equations.py). Here: the laws of each equation (hypothesis), the SymPy proofs, the
page's conventions, NLTK, and the page's code.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmverify import strategies as S
from reference.numpy.ngram import ngram_counts, pad, token_counts

DATA = Path(__file__).parent / "data" / "kenlm"


def _page_sentences() -> list[str]:
    """The four training sentences of the page's bigram example (shipped as tests/data/kenlm/tiny.txt)."""
    return [s for s in (DATA / "tiny.txt").read_text().split("\n") if s]


def _tables(sentences: list[list[str]], n: int):
    """Dense (contexts, V) count table, both context-count conventions, and the vocabulary."""
    vocab = sorted({w for s in sentences for w in s})
    ix = {w: i for i, w in enumerate(vocab)}
    grams, ctx_first = ngram_counts(sentences, n)
    contexts = sorted({g[:-1] for g in grams} | ({()} if n == 1 else set()))
    cix = {c: i for i, c in enumerate(contexts)}
    counts = np.zeros((len(contexts), len(vocab)))
    for g, c in grams.items():
        counts[cix[g[:-1]], ix[g[-1]]] = c
    first = np.array([ctx_first[c] for c in contexts], dtype=float)
    tok = token_counts(sentences)
    plain = np.array([tok[c[0]] if len(c) == 1 else np.nan for c in contexts], dtype=float)
    return counts, first, plain, contexts, vocab


# ---------------------------------------------------------------- chain rule


@pytest.mark.equation("ngram.chain_rule")
@given(data=st.data())
def test_chain_rule_product_of_conditionals_is_the_joint(check, data):
    """For any joint over short sequences, the chain rule's factors multiply back to the joint."""
    joint = data.draw(S.sequence_joints(max_vocab=2 if check.exact else 3, length=3), label="joint")
    cond = check.call("sequence_conditionals", joint=joint)
    back = check.call(conditionals=np.moveaxis(cond, 0, -1))
    check.inputs = {"joint": joint}
    check.close(back, joint, expected_from="the joint itself")


@pytest.mark.equation("ngram.chain_rule")
@given(data=st.data())
def test_chain_rule_sequence_conditionals_match_oracle(check, data):
    """The generic test checks chain_rule_joint; the factors it multiplies (sequence_conditionals) here."""
    check.agree("sequence_conditionals", joint=data.draw(S.sequence_joints(max_vocab=2, length=3), label="joint"))


@pytest.mark.numeric
@pytest.mark.equation("ngram.markov_assumption", "ngram.chain_rule")
@given(joint=S.markov_joints(max_vocab=3, length=4))
def test_chain_rule_markov_approximation_is_exact_for_a_markov_joint(check, joint):
    cond = check.call(joint=joint, order=1)
    back = check.call("chain_rule_joint", conditionals=np.moveaxis(cond, 0, -1))
    check.inputs = {"joint": joint}
    check.close(back, joint, expected_from="the (Markov) joint")


@pytest.mark.equation("ngram.markov_assumption")
def test_chain_rule_markov_approximation_differs_for_a_non_markov_joint(check):
    """w3 copies w1 (a dependency two steps back): the first-order Markov product is not the joint,
    while the second-order one (the full history here) is."""
    joint = np.zeros((2, 2, 2))
    for a in range(2):
        for b in range(2):
            joint[a, b, a] = 0.25
    first = check.call("chain_rule_joint", conditionals=np.moveaxis(check.call(joint=joint, order=1), 0, -1))
    second = check.call("chain_rule_joint", conditionals=np.moveaxis(check.call(joint=joint, order=2), 0, -1))
    check.inputs = {"joint": joint}
    check.law(np.abs(first - joint).max() > 0.1, "the first-order Markov product is not a non-Markov joint", got=first,
              expected=joint)
    check.close(second, joint, what="second-order Markov product", expected_from="the joint (full history)")


# ---------------------------------------------------------------- MLE: unigram, bigram, trigram


@pytest.mark.equation("ngram.unigram_mle")
@given(data=st.data())
def test_unigram_mle_sums_to_one(check, data):
    c = data.draw(S.count_tables(max_contexts=1, allow_empty_rows=False), label="counts")[0]
    check.close(check.call(counts=c).sum(), 1.0, what="sum of P(w)", expected_from="1")


@pytest.mark.equation("ngram.unigram_mle")
@given(data=st.data())
def test_unigram_mle_divides_by_every_token_of_the_corpus(check, data):
    """On a corpus's unigram counts, P(w) N = count(w) with N the number of tokens (every </s> included),
    counted from the corpus itself; a repeated word makes N larger than the number of distinct words, which
    is where dividing by the distinct words goes wrong."""
    t = data.draw(S.corpus_count_tables(1), label="table")
    tokens = [w for s in t["corpus"] for w in s.split() + ["</s>"]]
    counts = t["counts"][0]
    p = check.call(counts=counts)
    check.inputs = {"counts": counts, "corpus": t["corpus"]}
    check.close(p * len(tokens), counts, what="P(w) * N, N = the number of tokens",
                expected_from="count(w) in the corpus")


@pytest.mark.numeric
@pytest.mark.equation("ngram.trigram_mle", "ngram.bigram_mle")
@given(data=st.data())
def test_trigram_mle_context_count_is_every_ngram_that_starts_with_it(check, data):
    """On a corpus's bigram or trigram table, P(w | h) count(h) = count(h, w), with count(h) the number of
    n-grams that start with h, counted from the padded corpus itself (every occurrence, repeats included)."""
    n = data.draw(st.integers(2, 3), label="n")
    t = data.draw(S.corpus_count_tables(n), label="table")
    starts: dict = {}
    for s in t["corpus"]:
        toks = pad(s)
        for i in range(len(toks) - n + 1):
            starts[tuple(toks[i:i + n - 1])] = starts.get(tuple(toks[i:i + n - 1]), 0) + 1
    contexts = list(starts)  # first-appearance order, as corpus_count_tables orders its rows
    p = check.call(counts=t["counts"], context_counts=t["context_counts"])
    check.inputs = {"counts": t["counts"], "context_counts": t["context_counts"], "corpus": t["corpus"]}
    ctx = np.array([starts[h] for h in contexts], dtype=float)
    check.close(p * ctx[:, None], t["counts"], what="P(w | h) * count(h)",
                expected_from="count(h, w), count(h) = the n-grams of the corpus that start with h")


@pytest.mark.numeric
@pytest.mark.equation("ngram.perplexity", "ngram.add_k", "ngram.trigram_mle")
@given(corpus=S.corpora(max_sentences=4, max_len=5, max_vocab=4), n=st.integers(2, 3))
def test_perplexity_of_an_add_one_model_on_corpora_with_repeated_words(check, corpus, n):
    """The page's pipeline on a drawn corpus (most of them repeat words): add-1 probabilities of every padded
    training sentence's tokens from position n-1 on, through add_k, then sequence_perplexity; equals
    exp(-mean log p) of the same probabilities computed from the counts, and is at least 1."""
    sents = [pad(s) for s in corpus]
    V = len({w for s in sents for w in s})
    grams, ctx = ngram_counts(sents, n)
    logs, probs = [], []
    for toks in sents:
        for i in range(n - 1, len(toks)):
            h, w = tuple(toks[i - n + 1:i]), toks[i]
            p = check.call("add_k", counts=np.array([[grams[h + (w,)]]], float), context_counts=np.array([ctx[h]], float),
                           k=1.0, vocab_size=V)
            logs.append(math.log(float(p[0, 0])))
            probs.append((grams[h + (w,)] + 1) / (ctx[h] + V))
    ppl = check.call(log_probs=np.array(logs))
    check.inputs = {"corpus": corpus, "n": n, "log_probs": np.array(logs)}
    check.close(ppl, math.exp(-math.fsum(math.log(q) for q in probs) / len(probs)), what=f"order-{n} perplexity",
                expected_from="exp(-mean log p), p = (count(h, w) + 1) / (count(h) + V) from the counts")
    check.law(ppl >= 1.0 - check.tol.rtol, "perplexity >= 1 (every p <= 1)", got=ppl)


@pytest.mark.parametrize("repeats", [True, False])
@given(data=st.data())
def test_ngram_corpora_repeat_a_word_or_keep_every_token_distinct_on_request(repeats, data):
    """corpora(repeats=True) always repeats a word (where the bounds allow two tokens), repeats=False never
    does; both respect the bounds."""
    max_sentences, max_len, max_vocab = (data.draw(st.integers(1, 4), label=k) for k in ("sentences", "len", "vocab"))
    corpus = data.draw(S.corpora(max_sentences=max_sentences, max_len=max_len, max_vocab=max_vocab, repeats=repeats),
                       label="corpus")
    assert 1 <= len(corpus) <= max_sentences and all(1 <= len(s.split()) <= max_len for s in corpus), corpus
    assert len({w for s in corpus for w in s.split()}) <= max_vocab, corpus
    room = max_len * max_sentences >= 2
    assert S.has_repeated_word(corpus) == (repeats and room), corpus


def test_ngram_corpora_draw_both_kinds_by_default():
    """The default draw yields corpora with a repeated word and corpora with every token distinct."""
    from hypothesis import find

    assert S.has_repeated_word(find(S.corpora(), S.has_repeated_word))
    assert not S.has_repeated_word(find(S.corpora(), lambda c: not S.has_repeated_word(c)))


_NGRAM_MISTAKES = Path(__file__).parent / "data" / "students" / "mistakes" / "ngram"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("module, equation, mistake", [
    ("unigram_mle__n_distinct_words.py", "ngram.unigram_mle", "N = distinct words"),
    ("ngram_mle__count_h_distinct_words_after_h.py", "ngram.trigram_mle", "count(h) = distinct words after h"),
    ("ngram_mle__count_h_distinct_words_after_h.py", "ngram.bigram_mle", "count(h) = distinct words after h"),
    ("add_k__count_h_distinct_words_after_h.py", "ngram.add_k", "count(h) = distinct words after h"),
    ("sequence_perplexity__no_log.py", "ngram.perplexity", "no log"),
])
def test_trigram_student_mistakes_are_caught_on_drawn_inputs_with_their_hint(module, equation, mistake):
    """The two trigram mistakes of issue 20 (N or count(h) counted over distinct words; no log) fail on the drawn
    inputs alone (test_matches_oracle's strategy, without the pinned inputs), and the failure names the mistake."""
    from lmverify.students_check import check_equation

    outcomes = check_equation(_NGRAM_MISTAKES / module, equation, drawn=20, pinned=False, shrink=False)
    assert [o.status for o in outcomes] == ["failed"], f"{module}: {outcomes}"
    assert f"({mistake})." in outcomes[0].message, outcomes[0].message


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_distinct_word_counting_is_right_exactly_when_no_word_repeats():
    """The distinct-words student is right on a corpus whose tokens are all distinct (there N is the number of
    distinct words) and wrong, with its hint, on one that repeats a word: the corpora must repeat words."""
    from lmverify.backends import Backend
    from lmverify.check import Check
    from lmverify.compare import VerificationError
    from lmverify.students_check import student_backend

    student = student_backend(_NGRAM_MISTAKES / "unigram_mle__n_distinct_words.py")
    check = Check("ngram.unigram_mle", student, Backend("numpy"))
    check.agree(counts=np.array([1.0, 1.0, 1.0, 1.0]))  # 'a b c' padded: </s>, a, b, c once each
    with pytest.raises(VerificationError, match=r"\(N = distinct words\)\."):
        check.agree(counts=np.array([1.0, 2.0, 1.0]))  # 'a b a' padded: </s> once, a twice, b once


@pytest.mark.numeric
@pytest.mark.equation("ngram.bigram_mle", "ngram.trigram_mle")
@given(corpus=S.corpora(), n=st.integers(2, 3))
def test_bigram_mle_first_element_convention_sums_to_one(check, corpus, n):
    """With count(h) = count of h as the first n-1 words of an n-gram, every seen context sums to one
    (bigram and trigram alike)."""
    counts, first, _, _, _ = _tables([pad(s) for s in corpus], n)
    p = check.call(counts=counts, context_counts=first)
    check.inputs = {"corpus": corpus, "n": n}
    check.close(p.sum(axis=1), np.ones(len(first)), what="sum over w of P(w | h)", expected_from="1")


@pytest.mark.equation("ngram.bigram_mle")
@given(corpus=S.corpora())
def test_bigram_mle_denominator_conventions_differ_only_at_sentence_ends(corpus):
    """The page's two denominators: count of w_{t-1} as the first word of a bigram, or its plain
    unigram count. With <s>/</s> they differ exactly for </s> (never followed by a word); without
    padding, exactly for words that end a sentence (and by how many sentences they end)."""
    for padded in (True, False):
        sents = [pad(s) if padded else s.split() for s in corpus]
        _, first, plain, contexts, _ = _tables(sents, 2)
        tok = token_counts(sents)
        ends = {}
        for s in sents:
            ends[s[-1]] = ends.get(s[-1], 0) + 1
        # contexts are only words that start a bigram; the final words' unigram counts exceed that
        for (w,), f, u in zip(contexts, first, plain):
            assert u - f == ends.get(w, 0), (padded, w, u, f)
        never_first = {w for w in tok if (w,) not in contexts}
        if padded:
            assert never_first == {"</s>"}
        else:
            assert all(w in ends for w in never_first)


@pytest.mark.numeric
@pytest.mark.equation("ngram.bigram_mle")
def test_bigram_mle_plain_unigram_denominator_leaks_mass_at_sentence_ends(check):
    """On the page's four sentences (no padding, as in its worked example), the plain-count
    convention gives P(. | w) summing to count-as-first / count: 1 for 'the', 0 for 'mat'."""
    sents = [s.split() for s in _page_sentences()]
    counts, first, plain, contexts, vocab = _tables(sents, 2)
    p_plain = check.call(counts=counts, context_counts=plain)
    p_first = check.call(counts=counts, context_counts=first)
    check.close(p_first.sum(axis=1), np.ones(len(first)), what="row sums, first-element denominators",
                expected_from="1")
    check.close(p_plain.sum(axis=1), first / plain, what="row sums, plain unigram denominators",
                expected_from="count as first word / count")
    # 'mat' is counted once but never starts a bigram: it is no context under the first convention
    tok = token_counts(sents)
    assert tok["mat"] == 1 and ("mat",) not in contexts


def _nltk_bigram(cls_name: str):
    nltk_lm = pytest.importorskip("nltk.lm")
    from nltk.lm.preprocessing import padded_everygram_pipeline

    train, vocab = padded_everygram_pipeline(2, [s.split() for s in _page_sentences()])
    lm = getattr(nltk_lm, cls_name)(2)
    lm.fit(train, vocab)
    words = sorted(lm.vocab)
    ix = {w: i for i, w in enumerate(words)}
    counts = np.zeros((len(words), len(words)))
    for s in _page_sentences():
        toks = ["<s>"] + s.split() + ["</s>"]
        for a, c in zip(toks, toks[1:]):
            counts[ix[a], ix[c]] += 1
    return lm, words, counts


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("ngram.bigram_mle")
def test_bigram_mle_agrees_with_nltk(check):
    """MLE agrees with NLTK when the denominator is the count of the context as the first word of a bigram."""
    lm, words, counts = _nltk_bigram("MLE")
    ctx = counts.sum(axis=1)
    seen = ctx > 0
    theirs = np.array([[lm.score(w, [h]) for w in words] for h in words])
    check.close(check.call(counts=counts, context_counts=ctx)[seen], theirs[seen], expected_from="nltk.lm.MLE")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("ngram.add_k")
def test_add_k_agrees_with_nltk_laplace(check):
    """Add-1 agrees with NLTK's Laplace when V is NLTK's vocabulary (padding symbols and <UNK> included)."""
    lm, words, counts = _nltk_bigram("Laplace")
    theirs = np.array([[lm.score(w, [h]) for w in words] for h in words])
    check.close(check.call(counts=counts, context_counts=counts.sum(axis=1), k=1.0, vocab_size=len(words)), theirs,
                expected_from="nltk.lm.Laplace")


# ---------------------------------------------------------------- add-k


@pytest.mark.numeric
@pytest.mark.equation("ngram.add_k")
@given(c=S.count_tables(), k=st.floats(1e-6, 1e6))
def test_add_k_sums_to_one_for_every_k(check, c, k):
    p = check.call(counts=c, context_counts=c.sum(axis=1), k=k, vocab_size=c.shape[1])
    check.close(p.sum(axis=1), np.ones(c.shape[0]), what="row sums", expected_from="1")
    check.law(p > 0, "add-k with k > 0 gives every word positive probability", got=p)


@pytest.mark.symbolic
@pytest.mark.equation("ngram.add_k")
@pytest.mark.parametrize("V", [1, 2, 3, 6])
def test_add_k_sums_to_one_for_every_k_symbolically(V):
    import specs.ngram as spec
    assert spec.prove_add_k_normalises(V) == 1


@pytest.mark.symbolic
@pytest.mark.equation("ngram.add_k")
@pytest.mark.parametrize("V", [1, 2, 4])
def test_add_k_large_k_gives_uniform_symbolically(V):
    import sympy as sp

    import specs.ngram as spec
    assert spec.prove_add_k_uniform_limit(V) == [sp.Rational(1, V)] * V


@pytest.mark.numeric
@pytest.mark.equation("ngram.add_k", "ngram.bigram_mle")
@given(c=S.count_tables(allow_empty_rows=False))
def test_add_k_with_k_zero_is_the_mle(check, c):
    mle = check.call("ngram_mle", counts=c, context_counts=c.sum(axis=1))
    p0 = check.call(counts=c, context_counts=c.sum(axis=1), k=0.0, vocab_size=c.shape[1])
    check.close(p0, mle, what="add-k with k = 0", expected_from="the MLE")


# ---------------------------------------------------------------- interpolation and the page's backoff


@pytest.mark.numeric
@pytest.mark.equation("ngram.interpolation")
@given(data=st.data())
def test_interpolation_with_simplex_weights_is_a_distribution(check, data):
    n = data.draw(st.integers(1, 6))
    ps = np.stack([data.draw(S.probability_vectors(min_len=n, max_len=n)) for _ in range(3)])
    w = data.draw(S.probability_vectors(min_len=3, max_len=3), label="weights")
    check.close(check.call(probabilities=ps, weights=w).sum(), 1.0, what="sum of the interpolated distribution",
                expected_from="1")


def _page_backoff_tables(check):
    """Trigram, bigram, unigram MLE rows for every trigram context of the padded page corpus."""
    sents = [pad(s) for s in _page_sentences()]
    vocab = sorted({w for s in sents for w in s} - {"<s>"})
    ix = {w: i for i, w in enumerate(vocab)}
    tri, tri_ctx = ngram_counts(sents, 3)
    bi, bi_ctx = ngram_counts(sents, 2)
    uni = token_counts(sents)
    contexts = sorted({g[:2] for g in tri})
    V = len(vocab)
    c3, c2 = np.zeros((len(contexts), V)), np.zeros((len(contexts), V))
    c1 = np.array([uni[w] for w in vocab], dtype=float)
    for i, (a, b) in enumerate(contexts):
        for w in vocab:
            c3[i, ix[w]] = tri[(a, b, w)]
            c2[i, ix[w]] = bi[(b, w)]
    p3 = check.call("ngram_mle", counts=c3, context_counts=np.array([tri_ctx[c] for c in contexts], float))
    p2 = check.call("ngram_mle", counts=c2, context_counts=np.array([bi_ctx[(c[1],)] for c in contexts], float))
    p1 = np.broadcast_to(check.call("unigram_mle", counts=c1), p3.shape)
    return np.stack([p3, p2, p1]), np.stack([c3, c2, np.broadcast_to(c1, c3.shape)]), contexts


@pytest.mark.numeric
@pytest.mark.equation("ngram.backoff", "ngram.interpolation")
def test_backoff_literal_does_not_sum_to_one_and_by_how_much(check):
    """The page's rule ('if the trigram count is zero, use the bigram estimate; if that is zero, use
    the unigram'), taken literally on its own corpus: each context's total is
    1 + (the lower-order mass given to the words its trigram never saw), so above one wherever a
    trigram context does not see every word; interpolation with simplex weights sums to one."""
    ps, cs, contexts = _page_backoff_tables(check)
    interp = check.call("interpolate", probabilities=ps, weights=np.array([0.6, 0.3, 0.1]))
    check.close(interp.sum(axis=1), np.ones(len(contexts)), what="interpolated row sums", expected_from="1")
    p = check.call(probabilities=ps, counts=cs)
    totals = p.sum(axis=1)
    excess = np.where(cs[0] > 0, 0.0, p).sum(axis=1)
    check.close(totals, 1.0 + excess, what="row sums of the literal backoff",
                expected_from="1 + lower-order mass of the words the trigram never saw")
    check.law((totals > 1 + 1e-3).any(), "the literal backoff rule does not sum to one on the page's corpus", got=totals)


# ---------------------------------------------------------------- perplexity


@pytest.mark.numeric
@pytest.mark.equation("ngram.perplexity", "ngram.perplexity_cross_entropy")
@given(nll=S.nll_sequences)
def test_perplexity_is_two_to_the_cross_entropy_in_bits(check, nll):
    h = check.call("cross_entropy_bits", log_probs=-nll)
    ppl = check.call(log_probs=-nll)
    check.close(ppl, 2.0 ** h, what="PPL", expected_from="2 ** H_bits")
    check.close(ppl, np.exp(nll.mean()), what="PPL", expected_from="exp(mean NLL)")


@pytest.mark.numeric
@pytest.mark.equation("ngram.perplexity")
@given(V=st.integers(1, 100000), T_=st.integers(1, 50))
def test_perplexity_of_a_uniform_model_is_the_vocabulary_size(check, V, T_):
    """In float32, exp's condition number |mean log p| (up to 11.5 for V = 1e5) amplifies the rounding
    of the mean: lmverify/tolerance.py's ngram.perplexity float32 override (observed 1.96e-6)."""
    ppl = check.call(log_probs=np.full(T_, -math.log(V)))
    check.inputs = {"V": V, "T": T_}
    check.close(ppl, float(V), what="perplexity of the uniform model", expected_from="V")


@pytest.mark.equation("ngram.perplexity", "ngram.add_k", "ngram.trigram_mle")
def test_perplexity_page_code_path_and_formula_agree(check):
    """The page's pipeline (pad, count with the first-element convention, add-1, per-position log
    probabilities from position n-1 on) evaluated with each backend, against the formula: the
    per-token perplexity from the loop equals sequence_perplexity() of the same log-probabilities, and
    the sentence probability is the product of the factors (chain rule)."""
    corpus = [pad(s) for s in _page_sentences()]
    V = len({w for s in corpus for w in s})
    test = pad("the cat sat on the bone")
    for n in (2, 3):
        grams, ctx = ngram_counts(corpus, n)
        logs = []
        for i in range(n - 1, len(test)):
            h, w = tuple(test[i - n + 1:i]), test[i]
            p = check.call("add_k", counts=np.array([[grams[h + (w,)]]], float), context_counts=np.array([ctx[h]], float),
                           k=1.0, vocab_size=V)
            logs.append(math.log(float(p[0, 0])))
        ppl_loop = math.exp(-math.fsum(logs) / len(logs))
        check.close(check.call(log_probs=np.array(logs)), ppl_loop, what=f"order-{n} perplexity",
                    expected_from="the page's loop")
        check.close(check.call("chain_rule_joint", conditionals=np.exp(np.array(logs))), math.exp(math.fsum(logs)),
                    what=f"order-{n} sentence probability", expected_from="exp(sum of the loop's log-probabilities)")


@pytest.mark.equation("ngram.perplexity")
def test_perplexity_of_the_page_code_matches_the_references(course_dir):
    """Run the page's code block (from --course, in a subprocess) and compare every number it prints
    with the worked-example recipe's recomputation by the references."""
    from lmverify.backends import Backend
    from lmverify.pagecode import code_blocks, run
    from worked_examples.ngram.recipes import page_code

    blocks = code_blocks(course_dir / "language_modeling_basics.md")
    assert len(blocks) == 1, f"expected one code block, found {len(blocks)}"
    r = run(blocks[0])
    where = f"language_modeling_basics.md:{blocks[0].line}"
    assert r.returncode == 0, f"{where}: the page's code failed:\n{r.stderr[-2000:]}"
    ours = page_code({"sentences": _page_sentences(), "test": "the cat sat on the bone"}, Backend("numpy"))
    assert f"Trigram model vocabulary size: {int(ours['vocab_size'])}" in r.stdout
    assert f"Perplexity: {float(ours['trigram_perplexity']):.2f}" in r.stdout, r.stdout
    for (h, w), key in ((("the", "cat"), "p_cat_given_the"), (("the", "dog"), "p_dog_given_the"),
                        (("cat", "sat"), "p_sat_given_cat")):
        m = re.search(rf"P\({w} \| {h}\) = ([0-9.]+)", r.stdout)
        assert m and m.group(1) == f"{float(ours[key]):.4f}", (where, r.stdout)
