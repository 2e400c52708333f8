"""Registry entries of the embeddings topic (word_embeddings.md): inputs, pinned extremes, errors, mistakes.

Laws particular to one equation (orthogonality, scale invariance, edges of the window, Huffman
code lengths, the Levy & Goldberg optimum, gensim oracles...) stay in tests/test_embeddings*.py.
Strategies for this topic live here (lmverify/strategies.py belongs to the harness): small
embedding tables, sentences of word ids, count tables and Huffman trees.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lmverify import strategies as S
from lmverify import tolerance as tol
from lmverify.registry import Equation, ErrorInput, Mistake, Pinned

# -- the page's own numbers (word_embeddings.md, worked examples) ---------------------------------------
PAGE_CAT, PAGE_DOG, PAGE_ROCKET = np.array([1.0, 0.2]), np.array([0.9, 0.3]), np.array([0.1, 1.0])
#: king, man, woman, queen, child ("Worked Example: Two-Dimensional Analogy Arithmetic")
PAGE_ANALOGY_E = np.array([[2.0, 0.0], [1.0, 0.0], [1.0, 1.0], [2.0, 1.0], [0.0, 2.0]])
#: king, queen, child output vectors and v_king ("Worked Example: Skip-Gram Step with Concrete Numbers")
PAGE_SKIPGRAM_OUT = np.array([[0.5, 0.1], [0.4, 0.2], [0.1, 0.0]])
PAGE_SKIPGRAM_V = np.array([1.0, 0.0])
#: river, bank, money, water, loan ("Worked Example: Five-Word Vocabulary Co-occurrence Counts")
PAGE_SENTENCES = [[0, 1, 3], [1, 2, 4], [0, 3, 1]]


# -- strategies --------------------------------------------------------------------------------------------


def _el(exact: bool):
    return S.dyadic if exact else S.small_floats


def nonzero_vectors(d: int, exact: bool = False, lead: tuple[int, ...] = ()):
    """(lead..., d) arrays whose vectors all have a direction, also in float32 (largest entry >= 1e-6)."""
    return hnp.arrays(np.float64, lead + (d,), elements=_el(exact)).filter(
        lambda a: np.all(np.max(np.abs(a), axis=-1) >= 1e-6))


@S.composite
def embedding_tables(draw, *, max_vocab: int = 5, max_dim: int = 3, exact: bool = False, min_vocab: int = 1):
    V = draw(st.integers(min_vocab, max_vocab))
    d = draw(S.dims(max_dim))
    return draw(hnp.arrays(np.float64, (V, d), elements=_el(exact)))


@S.composite
def sentences_of_ids(draw, V: int, *, min_len: int = 1, max_len: int = 6) -> list[int]:
    return draw(st.lists(st.integers(0, V - 1), min_size=min_len, max_size=max_len))


@S.composite
def cooccurrence_counts(draw, *, max_side: int = 4, max_count: int = 8, full: bool = False) -> np.ndarray:
    """A (words, contexts) count table in which every row and column has a positive count."""
    n, m = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    X = draw(hnp.arrays(np.int64, (n, m), elements=st.integers(1 if full else 0, max_count))).astype(np.float64)
    for i in range(n):
        if X[i].sum() == 0:
            X[i, draw(st.integers(0, m - 1))] = 1.0
    for j in range(m):
        if X[:, j].sum() == 0:
            X[draw(st.integers(0, n - 1)), j] = 1.0
    return X


word_counts = st.lists(st.integers(1, 50), min_size=1, max_size=7).map(lambda c: np.asarray(c, dtype=np.float64))


def _cosine_inputs(exact: bool = False, batch: int | None = None):
    @S.composite
    def draw(d):
        n = d(S.dims(4))
        lead = () if batch is None else (batch,)
        return {"u": d(nonzero_vectors(n, exact, lead)), "v": d(nonzero_vectors(n, exact, lead))}

    return draw()


@S.composite
def _one_hot_inputs(draw, exact: bool = False):
    V = draw(st.integers(1, 8))
    return {"index": draw(st.integers(0, V - 1)), "V": V}


@S.composite
def _analogy_inputs(draw, exact: bool = False):
    # dyadic entries (exact in float32); no near-tie for the winner (float32 may order a near tie differently)
    E = draw(embedding_tables(min_vocab=4, max_vocab=5, max_dim=2, exact=True))
    a, b, c = draw(st.permutations(range(E.shape[0])))[:3]
    E = E.copy()
    for w in range(E.shape[0]):  # candidates need a direction
        if not np.any(E[w]):
            E[w, 0] = 1.0
    q = E[a] - E[b] + E[c]
    assume(np.any(q))
    cand = sorted((float(q @ E[w] / (np.linalg.norm(q) * np.linalg.norm(E[w]))) for w in range(E.shape[0])
                   if w not in (a, b, c)), reverse=True)
    assume(len(cand) == 1 or cand[0] - cand[1] > 1e-4)
    return {"E": E, "a": int(a), "b": int(b), "c": int(c)}


@S.composite
def _cbow_context_inputs(draw, exact: bool = False):
    E = draw(embedding_tables(exact=exact))
    return {"E": E, "words": draw(sentences_of_ids(E.shape[0], min_len=2, max_len=5)), "c": draw(st.integers(1, 3))}


@S.composite
def _two_tables_sentence(draw, exact: bool = False, min_len: int = 1):
    V = draw(st.integers(1, 4))
    d = draw(S.dims(2))
    arr = lambda: draw(hnp.arrays(np.float64, (V, d), elements=_el(exact)))  # noqa: E731
    return {"E_in": arr(), "E_out": arr(), "words": draw(sentences_of_ids(V, min_len=min_len, max_len=4)),
            "c": draw(st.integers(1, 2))}


def _cbow_objective_inputs(exact: bool = False):
    return _two_tables_sentence(exact=exact, min_len=2)


def _skipgram_objective_inputs(exact: bool = False):
    return _two_tables_sentence(exact=exact, min_len=1)


def _skipgram_softmax_inputs(exact: bool = False, batch: int | None = None):
    @S.composite
    def draw(d):
        V, dim = d(st.integers(1, 4)), d(S.dims(3))
        lead = () if batch is None else (batch,)
        return {"v_I": d(hnp.arrays(np.float64, lead + (dim,), elements=_el(exact))),
                "E_out": d(hnp.arrays(np.float64, (V, dim), elements=_el(exact)))}

    return draw()


@S.composite
def _skipgram_gradient_inputs(draw, exact: bool = False):
    kw = draw(_skipgram_softmax_inputs(exact))
    return dict(kw, o=draw(st.integers(0, kw["E_out"].shape[0] - 1)))


@S.composite
def huffman_setups(draw, exact: bool = False, max_vocab: int = 5):
    """Counts, their Huffman tree (codes, points, by the NumPy reference), inner-node vectors, an input vector."""
    from reference.numpy.embeddings import huffman_tree

    counts = draw(st.lists(st.integers(1, 30), min_size=1, max_size=max_vocab))
    codes, points = huffman_tree(np.asarray(counts, dtype=np.float64))
    d = draw(S.dims(2 if exact else 3))
    V = len(counts)
    return {"v_I": draw(hnp.arrays(np.float64, (d,), elements=_el(exact))),
            "node_vectors": draw(hnp.arrays(np.float64, (max(V - 1, 1), d), elements=_el(exact))),
            "codes": codes, "points": points}


@S.composite
def _neg_sampled_inputs(draw, exact: bool = False):
    d, k = draw(S.dims(3)), draw(st.integers(1, 3))
    return {"v_I": draw(S.arrays((d,), exact=exact)), "v_O": draw(S.arrays((d,), exact=exact)),
            "V_neg": draw(S.arrays((k, d), exact=exact))}


@S.composite
def _neg_expected_inputs(draw, exact: bool = False):
    V, d = draw(st.integers(1, 4)), draw(S.dims(2))
    counts = draw(st.lists(st.integers(1, 9), min_size=V, max_size=V))
    noise = np.asarray(counts, dtype=np.float64) / sum(counts)
    return {"v_I": draw(S.arrays((d,), exact=exact)), "v_O": draw(S.arrays((d,), exact=exact)),
            "E_out": draw(S.arrays((V, d), exact=exact)), "noise": noise, "k": draw(st.integers(1, 5))}


@S.composite
def _noise_inputs(draw, exact: bool = False):
    return {"counts": draw(word_counts), "power": draw(st.sampled_from([0.75, 0.5, 1.0, 0.0]))}


@S.composite
def _sgns_objective_inputs(draw, exact: bool = False):
    X = draw(cooccurrence_counts(max_side=3))
    return {"S": draw(S.arrays(X.shape, exact=exact)), "X": X, "k": draw(st.integers(1, 5))}


@S.composite
def _sgns_optimum_inputs(draw, exact: bool = False):
    return {"X": draw(cooccurrence_counts(max_side=3, full=True)), "k": draw(st.integers(1, 5))}


def _pmi_inputs(exact: bool = False):
    return cooccurrence_counts().map(lambda X: {"X": X})


@S.composite
def _cooccurrence_inputs(draw, exact: bool = False):
    V = draw(st.integers(1, 5))
    sents = draw(st.lists(sentences_of_ids(V, max_len=6), min_size=1, max_size=3))
    return {"sentences": sents, "V": V, "window": draw(st.integers(1, 3)),
            "weighting": draw(st.sampled_from(["count", "harmonic"]))}


@S.composite
def _glove_weight_inputs(draw, exact: bool = False):
    x = draw(hnp.arrays(np.float64, (draw(S.dims(5)),), elements=st.integers(0, 300).map(float)))
    return {"x": x, "x_max": draw(st.sampled_from([100.0, 10.0, 1.0])), "alpha": draw(st.sampled_from([0.75, 0.5, 1.0]))}


@S.composite
def _glove_loss_inputs(draw, exact: bool = False):
    V, d = draw(st.integers(1, 3)), draw(S.dims(2))
    X = draw(cooccurrence_counts(max_side=V, max_count=150))
    n, m = X.shape
    return {"W": draw(S.arrays((n, d), exact=exact)), "W_tilde": draw(S.arrays((m, d), exact=exact)),
            "b": draw(S.arrays((n,), exact=exact)), "b_tilde": draw(S.arrays((m,), exact=exact)), "X": X,
            "x_max": draw(st.sampled_from([100.0, 10.0])), "alpha": 0.75}


#: words for the FastText functions: ASCII, accented and CJK letters (multi-byte UTF-8 on purpose)
fasttext_words = st.text(alphabet=st.sampled_from(list("abcdeghinrsuwé中ü")), min_size=1, max_size=9)


@S.composite
def _fasttext_ngram_inputs(draw, exact: bool = False):
    minn = draw(st.integers(1, 4))
    return {"word": draw(fasttext_words), "minn": minn, "maxn": draw(st.integers(minn, 6))}


def _fasttext_hash_inputs(exact: bool = False):
    return fasttext_words.map(lambda w: {"ngram": w})


@S.composite
def _fasttext_vector_inputs(draw, exact: bool = False):
    kw = draw(_fasttext_ngram_inputs())
    return dict(kw, Z=draw(S.arrays((draw(st.integers(1, 7)), draw(S.dims(2))), exact=exact)))


# -- known student mistakes (NumPy, same parameters) --------------------------------------------------------


def _cos_no_norm(u, v):
    return np.sum(np.asarray(u) * np.asarray(v), axis=-1)


def _cos_one_norm(u, v):
    return np.sum(np.asarray(u) * np.asarray(v), axis=-1) / np.linalg.norm(u, axis=-1)


ANALOGY_MISTAKES = {}


def _analogy_wrong_sign(E, a, b, c):
    from reference.numpy.embeddings import cosine_similarity

    E = np.asarray(E, dtype=np.float64)
    q = E[a] + E[b] - E[c]
    scores = np.array([-np.inf if w in (a, b, c) else cosine_similarity(q, E[w]) for w in range(len(E))])
    return q, scores, int(np.argmax(scores))


def _analogy_not_excluded(E, a, b, c):
    from reference.numpy.embeddings import cosine_similarity

    E = np.asarray(E, dtype=np.float64)
    q = E[a] - E[b] + E[c]
    scores = np.array([cosine_similarity(q, E[w]) for w in range(len(E))])
    return q, scores, int(np.argmax(scores))


ANALOGY_MISTAKES.update({
    "q = v_a + v_b - v_c (the signs of man and woman swapped)": _analogy_wrong_sign,
    "searching the whole vocabulary, query words included": _analogy_not_excluded,
})


def _cbow_sum(E, words, c):
    from reference.numpy.embeddings import cbow_context

    E = np.asarray(E, dtype=np.float64)
    T = len(words)
    H = cbow_context(E, words, c)
    counts = np.array([sum(1 for j in range(-c, c + 1) if j and 0 <= t + j < T) for t in range(T)])
    return H * counts[:, None]


def _cbow_always_2c(E, words, c):
    from reference.numpy.embeddings import cbow_context

    E = np.asarray(E, dtype=np.float64)
    T = len(words)
    H = cbow_context(E, words, c)
    counts = np.array([sum(1 for j in range(-c, c + 1) if j and 0 <= t + j < T) for t in range(T)])
    return H * counts[:, None] / (2 * c)


def _softmax_wrong_axis(v_I, E_out):
    """A max-shifted softmax over axis 0 of the scores (..., V): right for one input vector (axis 0 is then
    the vocabulary), wrong for a batch of them (it normalises over the batch)."""
    s = np.asarray(v_I, dtype=np.float64) @ np.asarray(E_out, dtype=np.float64).T
    e = np.exp(s - s.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def _hs_codes_flipped(v_I, node_vectors, codes, points):
    from reference.numpy.embeddings import hierarchical_softmax

    return hierarchical_softmax(v_I, node_vectors, [[1 - b for b in c] for c in codes], points)


def _hs_no_sign(v_I, node_vectors, codes, points):
    N, v = np.asarray(node_vectors, dtype=np.float64), np.asarray(v_I, dtype=np.float64)
    return np.array([np.prod(1 / (1 + np.exp(-(N[p] @ v)))) if len(p) else 1.0 for p in points])


def _neg_no_minus(v_I, v_O, V_neg):
    ls = lambda x: -np.logaddexp(0.0, -x)  # noqa: E731
    return float(ls(np.dot(v_O, v_I)) + np.sum(ls(np.asarray(V_neg) @ v_I)))


def _noise_no_power(counts, power=0.75):
    c = np.asarray(counts, dtype=np.float64)
    return c / c.sum()


def _pmi_no_normalisation(X):
    X = np.asarray(X, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(X) - np.log(X.sum(1))[:, None] - np.log(X.sum(0))[None, :]


def _ppmi_not_clipped(X):
    from reference.numpy.embeddings import pmi

    return pmi(X)


def _glove_no_weight(W, W_tilde, b, b_tilde, X, x_max=100.0, alpha=0.75):
    X = np.asarray(X, dtype=np.float64)
    nz = X > 0
    r = np.asarray(W) @ np.asarray(W_tilde).T + np.asarray(b)[:, None] + np.asarray(b_tilde)[None, :] \
        - np.log(np.where(nz, X, 1.0))
    return float(np.sum(np.where(nz, r ** 2, 0.0)))


def _glove_weight_uncapped(x, x_max=100.0, alpha=0.75):
    return (np.asarray(x, dtype=np.float64) / x_max) ** alpha


# -- gradients over the whole tables: inputs ----------------------------------------------------------------
#
# Entries are multiples of 1/8 in [-1, 1] (``table_entries``): exact in float32, and so is every score (a dot
# product of at most 3 of them: a multiple of 1/64 of size <= 3), so a float32 form rounds only in exp, the
# softmax's sum over V <= 4 words and the sums over the rows: to first order at most (V + 4) u |C| max|v'|
# for the softmax weights and (V + 1) u sum_w |r_w| |v'_w| <= 2 (V + 1) u |C| for the final sum, which with
# |C| <= 4 (and k <= 3 negatives) is below 60 u = 3.6e-6: inside the default float32 atol (1e-5) at any
# sample size, so no conditioned tolerance is needed. SymPy stays fast on such tables.
# Context words are drawn from a small vocabulary, so a word often occurs twice in a window (and a
# negative is often drawn twice); ``repeated_words`` forces one repeat in a share of the draws.

#: table entries: multiples of 1/8 in [-1, 1]
table_entries = st.integers(-8, 8).map(lambda i: i / 8.0)


@S.composite
def word2vec_tables(draw, *, max_vocab: int = 4, max_dim: int = 3, exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(W_in, W_out): two (V, d) tables of ``table_entries`` (the same vocabulary and dimension)."""
    V, d = draw(st.integers(1, max_vocab)), draw(S.dims(max_dim))
    arr = lambda: draw(hnp.arrays(np.float64, (V, d), elements=table_entries))  # noqa: E731
    return arr(), arr()


@S.composite
def repeated_words(draw, V: int, *, min_len: int = 1, max_len: int = 4, allow_empty: bool = False) -> list[int]:
    """A list of word ids in 0..V-1: freely drawn (repeats are common in a small vocabulary), or with one word
    forced to occur at least twice, or all distinct (where V allows)."""
    lo = 0 if allow_empty else min_len
    kind = draw(st.sampled_from(["free", "repeat", "distinct"]))
    if kind == "repeat" and max_len >= 2:
        w = draw(st.integers(0, V - 1))
        rest = draw(st.lists(st.integers(0, V - 1), min_size=0, max_size=max_len - 2))
        return draw(st.permutations(rest + [w, w]))
    if kind == "distinct":
        return list(draw(st.permutations(range(V)))[:draw(st.integers(lo, min(max_len, V)))])
    return draw(st.lists(st.integers(0, V - 1), min_size=lo, max_size=max_len))


@S.composite
def _skipgram_table_inputs(draw, exact: bool = False):
    W_in, W_out = draw(word2vec_tables())
    V = W_in.shape[0]
    return {"W_in": W_in, "W_out": W_out, "centre": draw(st.integers(0, V - 1)),
            "context": draw(repeated_words(V, max_len=4))}


@S.composite
def _negative_sampling_table_inputs(draw, exact: bool = False):
    W_in, W_out = draw(word2vec_tables())
    V = W_in.shape[0]
    return {"W_in": W_in, "W_out": W_out, "centre": draw(st.integers(0, V - 1)),
            "context": draw(st.integers(0, V - 1)), "negatives": draw(repeated_words(V, max_len=3, allow_empty=True))}


def _cbow_table_inputs(exact: bool = False):
    return _skipgram_table_inputs(exact)


# -- gradients over the whole tables: known mistakes ----------------------------------------------------------
# Each returns the pair (dL/dW_in, dL/dW_out) a student with that one mistake returns (NumPy, same parameters).


def _softmax(z):
    from reference.numpy._common import log_softmax

    return np.exp(log_softmax(z))


def _sigma(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def _sg_setup(W_in, W_out, centre, context):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    ctx = [int(context)] if np.ndim(context) == 0 else [int(w) for w in context]
    v = W_in[int(centre)]
    return W_in, W_out, ctx, v, _softmax(W_out @ v)


def _sg_context_rows(W_in, W_out, centre, context):
    """Each context word's term v'_o - E_p[v'] added to the context word's row of W_in, not the centre's."""
    W_in, W_out, ctx, v, p = _sg_setup(W_in, W_out, centre, context)
    G_in = np.zeros_like(W_in)
    for o in ctx:
        G_in[o] += W_out[o] - p @ W_out
    return G_in, np.outer(np.bincount(ctx, minlength=len(W_out)) - len(ctx) * p, v)


def _sg_out_centre_row(W_in, W_out, centre, context):
    """The true context words' +v_c added to the centre's row of W_out (the index of the other table)."""
    from reference.numpy.embeddings import skipgram_table_gradients

    W_in, W_out, ctx, v, p = _sg_setup(W_in, W_out, centre, context)
    G_out = -len(ctx) * np.outer(p, v)
    G_out[int(centre)] += len(ctx) * v
    return skipgram_table_gradients(W_in, W_out, centre, context)[0], G_out


def _sg_repeats_once(W_in, W_out, centre, context):
    """``G_out[context] += v_c``: NumPy's fancy-index += adds a repeated context word's v_c once."""
    from reference.numpy.embeddings import skipgram_table_gradients

    W_in, W_out, ctx, v, p = _sg_setup(W_in, W_out, centre, context)
    G_out = -len(ctx) * np.outer(p, v)
    G_out[ctx] += v
    return skipgram_table_gradients(W_in, W_out, centre, context)[0], G_out


def _negated(name):
    def wrong(**kwargs):
        from reference.numpy import embeddings as E

        G_in, G_out = getattr(E, name)(**kwargs)
        return -G_in, -G_out

    return wrong


def _ns_setup(W_in, W_out, centre, context, negatives):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    neg = [int(negatives)] if np.ndim(negatives) == 0 else [int(w) for w in negatives]
    return W_in, W_out, int(centre), int(context), neg, W_in[int(centre)]


def _ns_context_row(W_in, W_out, centre, context, negatives):
    """dL/dv_c added to the context word's row of W_in, not the centre's."""
    from reference.numpy.embeddings import negative_sampling_table_gradients

    G_in, G_out = negative_sampling_table_gradients(W_in, W_out, centre, context, negatives)
    W_in, W_out, c, o, neg, v = _ns_setup(W_in, W_out, centre, context, negatives)
    wrong = np.zeros_like(G_in)
    wrong[o] = G_in[c]
    return wrong, G_out


def _ns_repeats_once(W_in, W_out, centre, context, negatives):
    """``r[negatives] += -sigma(s)``: NumPy's fancy-index += counts a negative drawn twice once."""
    W_in, W_out, c, o, neg, v = _ns_setup(W_in, W_out, centre, context, negatives)
    r = np.zeros(len(W_out))
    r[o] += _sigma(-(W_out[o] @ v))
    if neg:
        r[neg] += -_sigma(W_out[neg] @ v)
    G_in = np.zeros_like(W_in)
    G_in[c] = r @ W_out
    return G_in, np.outer(r, v)


def _cbow_setup(W_in, W_out, centre, context):
    W_in, W_out = np.asarray(W_in, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    ctx = [int(context)] if np.ndim(context) == 0 else [int(w) for w in context]
    return W_in, W_out, int(centre), ctx


def _cbow_grads(W_out, centre, h):
    r = -_softmax(W_out @ h)
    r[centre] += 1.0
    return r, r @ W_out


def _cbow_sum_table(W_in, W_out, centre, context):
    """h = the sum of the context vectors (gensim's cbow_mean=0), differentiated consistently."""
    W_in, W_out, o, ctx = _cbow_setup(W_in, W_out, centre, context)
    h = W_in[ctx].sum(axis=0)
    r, g_h = _cbow_grads(W_out, o, h)
    return np.outer(np.bincount(ctx, minlength=len(W_in)).astype(np.float64), g_h), np.outer(r, h)


def _cbow_not_divided(W_in, W_out, centre, context):
    """The average in the forward pass, but dL/dh passed whole to each context row (the 1/|C| forgotten)."""
    W_in, W_out, o, ctx = _cbow_setup(W_in, W_out, centre, context)
    h = W_in[ctx].mean(axis=0)
    r, g_h = _cbow_grads(W_out, o, h)
    return np.outer(np.bincount(ctx, minlength=len(W_in)).astype(np.float64), g_h), np.outer(r, h)


def _cbow_repeats_once(W_in, W_out, centre, context):
    """``G_in[context] += dL/dh / |C|``: NumPy's fancy-index += counts a repeated context word once."""
    W_in, W_out, o, ctx = _cbow_setup(W_in, W_out, centre, context)
    h = W_in[ctx].mean(axis=0)
    r, g_h = _cbow_grads(W_out, o, h)
    G_in = np.zeros_like(W_in)
    G_in[ctx] += g_h / len(ctx)
    return G_in, np.outer(r, h)


def _cbow_centre_row(W_in, W_out, centre, context):
    """dL/dh added to the centre word's row of W_in (skip-gram's row), not to the context words' rows."""
    W_in, W_out, o, ctx = _cbow_setup(W_in, W_out, centre, context)
    h = W_in[ctx].mean(axis=0)
    r, g_h = _cbow_grads(W_out, o, h)
    G_in = np.zeros_like(W_in)
    if o < len(W_in):
        G_in[o] += g_h
    return G_in, np.outer(r, h)


# -- pinned ---------------------------------------------------------------------------------------------------

_TOY_X = np.array([[4.0, 1.0, 0.0], [1.0, 2.0, 3.0], [0.0, 3.0, 6.0]])
_HS_COUNTS = np.array([5.0, 2.0, 1.0, 1.0, 3.0])


def _hs_pinned():
    from reference.numpy.embeddings import huffman_tree

    codes, points = huffman_tree(_HS_COUNTS)
    N = np.array([[0.5, -1.0], [1.0, 0.25], [-0.75, 0.5], [2.0, 1.0]])
    return (Pinned("Huffman tree of counts [5, 2, 1, 1, 3]", {"v_I": np.array([0.5, -1.0]), "node_vectors": N,
                                                              "codes": codes, "points": points}),
            Pinned("scores of +-40 (saturated sigmoids)", {"v_I": np.array([40.0, 0.0]), "node_vectors": N,
                                                           "codes": codes, "points": points}))


#: input vectors of king, queen, child: v_king is the page's (skip-gram worked example), the other two made up
_PAGE_W_IN = np.vstack([PAGE_SKIPGRAM_V, [0.0, 1.0], [0.5, -0.5]])
#: the page's negative-sampling example in one dimension: v_king = 1 and output vectors whose scores are the
#: page's s_queen = 2.0, s_child = -1.0, s_table = 0.5 (v'_king = 0.25 made up); words king, queen, child, table
_NS_W_IN, _NS_W_OUT = np.array([[1.0], [0.5], [-0.25], [2.0]]), np.array([[0.25], [2.0], [-1.0], [0.5]])
_TABLE_ERRORS = (
    ErrorInput("centre id past V", {"W_in": np.eye(3), "W_out": np.eye(3), "centre": 3, "context": [0]}, ValueError,
               "centre has word ids \\[3\\] outside the vocabulary"),
    ErrorInput("empty context", {"W_in": np.eye(3), "W_out": np.eye(3), "centre": 0, "context": []}, ValueError,
               "context is empty"),
    ErrorInput("a word id of 0.5", {"W_in": np.eye(3), "W_out": np.eye(3), "centre": 0, "context": [1, 0.5]},
               ValueError, "context must hold integer word ids"),
    ErrorInput("centre given as a list", {"W_in": np.eye(3), "W_out": np.eye(3), "centre": [0, 1], "context": [2]},
               ValueError, "centre must be one word id"),
    ErrorInput("tables of different dimension", {"W_in": np.ones((3, 2)), "W_out": np.ones((3, 3)), "centre": 0,
                                                  "context": [1]}, ValueError, "same embedding dimension"),
    ErrorInput("NaN in W_in", {"W_in": np.array([[np.nan, 0.0], [1.0, 1.0]]), "W_out": np.eye(2), "centre": 0,
                               "context": [1]}, ValueError, "W_in contains NaN"),
    ErrorInput("inf in W_out", {"W_in": np.eye(2), "W_out": np.array([[np.inf, 0.0], [1.0, 1.0]]), "centre": 0,
                                "context": [1]}, ValueError, "W_out has an infinite entry"),
)

EQUATIONS = (
    Equation(
        "embeddings.one_hot",
        inputs=_one_hot_inputs,
        pinned=(Pinned("V = 1", {"index": 0, "V": 1}), Pinned("last of 300 words", {"index": 299, "V": 300})),
        errors=(ErrorInput("index past V", {"index": 3, "V": 3}, ValueError, "outside 0..2"),
                ErrorInput("V = 0", {"index": 0, "V": 0}, ValueError, "V must be an integer >= 1")),
    ),
    Equation(
        "embeddings.cosine_similarity",
        inputs=_cosine_inputs,
        batch_args=("u", "v"),
        pinned=(
            Pinned("the page's cat and dog", {"u": PAGE_CAT, "v": PAGE_DOG}),
            Pinned("the page's cat and rocket", {"u": PAGE_CAT, "v": PAGE_ROCKET}),
            Pinned("huge magnitudes (1e30: a naive float32 norm overflows)", {"u": np.array([1e30, 1e30]),
                                                                               "v": np.array([1e30, 0.0])}),
            Pinned("tiny magnitudes (1e-30: a naive float32 norm underflows)", {"u": np.array([1e-30, 3e-30]),
                                                                                 "v": np.array([2e-30, 1e-30])}),
            Pinned("opposite vectors", {"u": np.array([1.0, -2.0, 3.0]), "v": np.array([-2.0, 4.0, -6.0])}),
        ),
        errors=(ErrorInput("u = 0", {"u": np.zeros(3), "v": np.ones(3)}, ValueError, "u is a zero vector"),
                ErrorInput("v = 0", {"u": np.ones(2), "v": np.zeros(2)}, ValueError, "v is a zero vector"),
                ErrorInput("dimensions differ", {"u": np.ones(2), "v": np.ones(3)}, ValueError, "same last dimension")),
        mistakes=(Mistake("no normalisation", "the plain dot product u.v, without dividing by the norms", _cos_no_norm),
                  Mistake("one norm", "dividing by ||u|| only", _cos_one_norm)),
        grad=("u", "v"),
        grad_at={"u": [1.0, 0.2], "v": [0.9, 0.3]},
    ),
    Equation(
        "embeddings.analogy",
        inputs=_analogy_inputs,
        pinned=(Pinned("the page's king, man, woman, queen, child", {"E": PAGE_ANALOGY_E, "a": 0, "b": 1, "c": 2}),
                Pinned("a query word closest to q (it must not win)",
                       {"E": np.array([[3.0, 0.1], [1.0, 1.0], [0.5, 0.6], [0.0, 1.0], [1.0, -1.0]]),
                        "a": 0, "b": 1, "c": 2})),
        errors=(ErrorInput("q = 0", {"E": np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0], [1.0, 1.0]]), "a": 0, "b": 1,
                                     "c": 2}, ValueError, "zero vector"),
                ErrorInput("no candidate", {"E": np.eye(3), "a": 0, "b": 1, "c": 2}, ValueError, "no candidate")),
        # no ``mistakes`` here: analogy returns (q, scores, w*) of different shapes, which the generic
        # mistake check cannot compare as one array; tests/test_embeddings.py checks these two mistakes
        # (ANALOGY_MISTAKES) by hand.
    ),
    Equation(
        "embeddings.cbow_context",
        inputs=_cbow_context_inputs,
        pinned=(Pinned("edges with c = 2 over five words", {"E": np.arange(10.0).reshape(5, 2),
                                                             "words": [0, 1, 2, 3, 4], "c": 2}),),
        errors=(ErrorInput("one word", {"E": np.eye(2), "words": [0], "c": 1}, ValueError, "no context"),
                ErrorInput("c = 0", {"E": np.eye(2), "words": [0, 1], "c": 0}, ValueError, "window radius"),
                ErrorInput("unknown word id", {"E": np.eye(2), "words": [0, 5], "c": 1}, ValueError, "outside the vocabulary")),
        mistakes=(Mistake("sum", "the sum of the neighbours instead of their average", _cbow_sum),
                  Mistake("always 1/(2c)", "dividing by 2c at the sentence edges too (fewer neighbours exist there)",
                          _cbow_always_2c)),
    ),
    Equation(
        "embeddings.cbow_objective",
        inputs=_cbow_objective_inputs,
        grad=("E_in", "E_out"),
        grad_at={"E_in": [[0.5, -1.0], [1.0, 0.25]], "E_out": [[0.25, 0.5], [-0.5, 1.0]], "words": (0, 1, 1), "c": 1},
    ),
    Equation(
        "embeddings.cbow_table_gradient",
        inputs=_cbow_table_inputs,
        pinned=(
            Pinned("centre queen from context king, child (the page's output vectors)",
                   {"W_in": _PAGE_W_IN, "W_out": PAGE_SKIPGRAM_OUT, "centre": 1, "context": [0, 2]}),
            Pinned("a context word twice (king, king, child)", {"W_in": _PAGE_W_IN, "W_out": PAGE_SKIPGRAM_OUT,
                                                                "centre": 1, "context": [0, 0, 2]}),
            Pinned("one context word", {"W_in": _PAGE_W_IN, "W_out": PAGE_SKIPGRAM_OUT, "centre": 2, "context": [1]}),
            Pinned("scores of +-30 (a saturated softmax)", {"W_in": np.array([[1.0], [1.0]]),
                                                             "W_out": np.array([[30.0], [-30.0]]), "centre": 1,
                                                             "context": [0, 1]}),
        ),
        errors=_TABLE_ERRORS[1:3] + (
            ErrorInput("centre id past V", {"W_in": np.eye(3), "W_out": np.eye(3), "centre": 4, "context": [0]},
                       ValueError, "centre has word ids \\[4\\] outside the vocabulary"),
            ErrorInput("context id past V", {"W_in": np.eye(3), "W_out": np.eye(3), "centre": 0, "context": [0, 3]},
                       ValueError, "context has word ids \\[3\\] outside the vocabulary"),
        ) + _TABLE_ERRORS[3:],
        mistakes=(
            Mistake("sum, not average", "h as the sum of the context vectors instead of their average (gensim's "
                    "cbow_mean=0; the page averages), differentiated consistently", _cbow_sum_table),
            Mistake("1/|C| forgotten", "passing dL/dh whole to each context word's row of W_in (h averages them: "
                    "each row gets dL/dh / |C|)", _cbow_not_divided),
            Mistake("centre row", "adding dL/dh to the centre word's row of W_in (skip-gram's row; CBOW's input "
                    "rows are the context words')", _cbow_centre_row),
            Mistake("missing sign", "the gradient of the loss -L (every sign flipped) where the gradient of the "
                    "log-likelihood L is asked", _negated("cbow_table_gradients")),
            Mistake("repeated context word counted once", "W_in's update by G[context] += dL/dh / |C|, which NumPy's "
                    "fancy indexing applies once to a word that occurs twice in the window (np.add.at or a loop "
                    "adds it each time)", _cbow_repeats_once),
        ),
    ),
    Equation(
        "embeddings.skipgram_objective",
        inputs=_skipgram_objective_inputs,
        grad=("E_in", "E_out"),
        grad_at={"E_in": [[0.5, -1.0], [1.0, 0.25]], "E_out": [[0.25, 0.5], [-0.5, 1.0]], "words": (0, 1, 1), "c": 2},
    ),
    Equation(
        "embeddings.skipgram_softmax",
        inputs=_skipgram_softmax_inputs,
        batch_args=("v_I",),
        kappa=tol.kappa_skipgram_softmax,
        pinned=(Pinned("the page's king step", {"v_I": PAGE_SKIPGRAM_V, "E_out": PAGE_SKIPGRAM_OUT}),
                Pinned("scores of +-1e3 (no overflow)", {"v_I": np.array([1e3]), "E_out": np.array([[1.0], [-1.0], [0.999]])}),
                Pinned("a batch of two input vectors", {"v_I": np.array([[1.0, 0.0], [0.0, 1.0]]),
                                                         "E_out": np.array([[0.5, 0.1], [0.4, 0.2], [0.1, -0.3]])})),
        mistakes=(Mistake("softmax over the wrong axis", "normalising over the batch (axis 0), not the vocabulary (the last axis)",
                          _softmax_wrong_axis),),
        grad=("v_I", "E_out"),
        grad_at={"v_I": [1.0, 0.0], "E_out": [[0.5, 0.1], [0.4, 0.2], [0.1, 0.0]]},
    ),
    Equation(
        "embeddings.skipgram_gradient",
        inputs=_skipgram_gradient_inputs,
        kappa=tol.kappa_skipgram_gradient,
        pinned=(Pinned("the page's king step, true context queen", {"v_I": PAGE_SKIPGRAM_V, "E_out": PAGE_SKIPGRAM_OUT,
                                                                    "o": 1}),),
    ),
    Equation(
        "embeddings.skipgram_table_gradient",
        inputs=_skipgram_table_inputs,
        pinned=(
            Pinned("the page's king step, context queen", {"W_in": _PAGE_W_IN, "W_out": PAGE_SKIPGRAM_OUT, "centre": 0,
                                                           "context": [1]}),
            Pinned("a context word twice (centre queen, context king, child, king)",
                   {"W_in": _PAGE_W_IN, "W_out": PAGE_SKIPGRAM_OUT, "centre": 1, "context": [0, 2, 0]}),
            Pinned("the centre in its own window (centre king, context king, queen)",
                   {"W_in": _PAGE_W_IN, "W_out": PAGE_SKIPGRAM_OUT, "centre": 0, "context": [0, 1]}),
            Pinned("scores of +-30 (a saturated softmax)", {"W_in": np.array([[1.0], [-1.0]]),
                                                             "W_out": np.array([[30.0], [-30.0]]), "centre": 0,
                                                             "context": [1, 0]}),
        ),
        errors=_TABLE_ERRORS,
        mistakes=(
            Mistake("context rows", "adding each context word's v'_o - sum_w p_w v'_w to the context word's row of "
                    "W_in (it belongs to the centre word's row)", _sg_context_rows),
            Mistake("output row of the centre", "adding the true context words' +v_centre to the centre word's row "
                    "of W_out (it belongs to each context word's row)", _sg_out_centre_row),
            Mistake("missing sign", "the gradient of the loss -L (every sign flipped) where the gradient of the "
                    "log-likelihood L is asked", _negated("skipgram_table_gradients")),
            Mistake("repeated context word counted once", "W_out's update by G[context] += v_centre, which NumPy's "
                    "fancy indexing applies once to a word that occurs twice in the window (np.add.at or a loop adds "
                    "it each time)", _sg_repeats_once),
        ),
    ),
    Equation(
        "embeddings.hierarchical_softmax",
        inputs=huffman_setups,
        pinned=_hs_pinned(),
        mistakes=(Mistake("codes flipped", "sigma(x) for code 1 and sigma(-x) for code 0 (gensim's convention is the "
                                           "opposite)", _hs_codes_flipped),
                  Mistake("no sign", "sigma(v'.v) at every node, whatever the branch taken", _hs_no_sign)),
        grad=("v_I", "node_vectors"),
        grad_at={"v_I": [0.5, -1.0], "node_vectors": [[0.5, -1.0], [1.0, 0.25]],
                 "codes": ((0,), (1, 0), (1, 1)), "points": ((1,), (1, 0), (1, 0))},
    ),
    Equation("embeddings.hierarchical_softmax_huffman"),
    Equation(
        "embeddings.negative_sampling",
        inputs=_neg_expected_inputs,
        grad=("v_I", "v_O", "E_out"),
        grad_at={"v_I": [1.0, -0.5], "v_O": [0.5, 0.25], "E_out": [[0.25, 1.0], [-1.0, 0.5]], "noise": [0.75, 0.25],
                 "k": 2},
    ),
    Equation(
        "embeddings.negative_sampling_sampled",
        inputs=_neg_sampled_inputs,
        pinned=(Pinned("the page's scores 2.0, -1.0, 0.5", {"v_I": np.array([1.0]), "v_O": np.array([2.0]),
                                                             "V_neg": np.array([[-1.0], [0.5]])}),
                Pinned("scores of +-1e3 (log sigma without overflow)", {"v_I": np.array([1.0]), "v_O": np.array([-1e3]),
                                                                         "V_neg": np.array([[1e3], [-1e3]])})),
        mistakes=(Mistake("no minus sign", "log sigma(+v'_w . v_I) for the negatives (the minus sign forgotten)",
                          _neg_no_minus),),
        grad=("v_I", "v_O", "V_neg"),
        grad_at={"v_I": [1.0, -0.5], "v_O": [0.5, 0.25], "V_neg": [[0.25, 1.0], [-1.0, 0.5]]},
    ),
    Equation(
        "embeddings.negative_sampling_table_gradient",
        inputs=_negative_sampling_table_inputs,
        pinned=(
            Pinned("the page's scores 2.0, -1.0, 0.5 (centre king, context queen, negatives child, table)",
                   {"W_in": _NS_W_IN, "W_out": _NS_W_OUT, "centre": 0, "context": 1, "negatives": [2, 3]}),
            Pinned("a negative drawn twice and the context word drawn as a negative",
                   {"W_in": _NS_W_IN, "W_out": _NS_W_OUT, "centre": 0, "context": 1, "negatives": [2, 2, 1]}),
            Pinned("no negatives", {"W_in": _NS_W_IN, "W_out": _NS_W_OUT, "centre": 2, "context": 3, "negatives": []}),
            Pinned("scores of +-40 (saturated sigmoids)", {"W_in": np.array([[1.0], [2.0]]),
                                                            "W_out": np.array([[40.0], [-40.0]]), "centre": 0,
                                                            "context": 1, "negatives": [0, 1]}),
        ),
        errors=(
            ErrorInput("centre id past V", {"W_in": np.eye(3), "W_out": np.eye(3), "centre": 3, "context": 0,
                                            "negatives": [1]}, ValueError, "centre has word ids \\[3\\] outside"),
            ErrorInput("negative id past V", {"W_in": np.eye(3), "W_out": np.eye(3), "centre": 0, "context": 1,
                                              "negatives": [0, 5]}, ValueError,
                       "negatives has word ids \\[5\\] outside the vocabulary"),
            ErrorInput("a negative id of 0.5", {"W_in": np.eye(3), "W_out": np.eye(3), "centre": 0, "context": 1,
                                                "negatives": [0.5]}, ValueError, "negatives must hold integer word ids"),
            ErrorInput("context given as a list", {"W_in": np.eye(3), "W_out": np.eye(3), "centre": 0,
                                                   "context": [1, 2], "negatives": [0]}, ValueError,
                       "context must be one word id"),
            ErrorInput("tables of different dimension", {"W_in": np.ones((3, 2)), "W_out": np.ones((3, 3)),
                                                          "centre": 0, "context": 1, "negatives": [2]}, ValueError,
                       "same embedding dimension"),
            ErrorInput("NaN in W_out", {"W_in": np.eye(2), "W_out": np.array([[np.nan, 0.0], [1.0, 1.0]]), "centre": 0,
                                        "context": 1, "negatives": [0]}, ValueError, "W_out contains NaN"),
        ),
        mistakes=(
            Mistake("context row", "adding dL/dv_centre to the context word's row of W_in (it belongs to the centre "
                    "word's row)", _ns_context_row),
            Mistake("missing sign", "the gradient of the loss -L (every sign flipped) where the gradient of the "
                    "log-likelihood L is asked", _negated("negative_sampling_table_gradients")),
            Mistake("repeated negative counted once", "the negatives' update by r[negatives] += -sigma(s), which "
                    "NumPy's fancy indexing applies once to a word drawn twice (np.add.at or a loop adds it each "
                    "time)", _ns_repeats_once),
        ),
    ),
    Equation(
        "embeddings.negative_sampling_noise",
        inputs=_noise_inputs,
        pinned=(Pinned("counts 1, 16, 81 (3/4 powers 1, 8, 27)", {"counts": np.array([1.0, 16.0, 81.0]), "power": 0.75}),),
        errors=(ErrorInput("negative count", {"counts": np.array([1.0, -1.0])}, ValueError, "non-negative"),
                ErrorInput("all zero", {"counts": np.zeros(3)}, ValueError, "at least one positive")),
        mistakes=(Mistake("no power", "the plain unigram distribution (the 3/4 power forgotten)", _noise_no_power),),
    ),
    Equation(
        "embeddings.negative_sampling_sgns_objective",
        inputs=_sgns_objective_inputs,
        grad=("S",),
        grad_at={"S": [[0.5, -1.0], [0.25, 2.0]], "X": [[3.0, 1.0], [0.0, 2.0]], "k": 2},
    ),
    Equation(
        "embeddings.negative_sampling_pmi_optimum",
        inputs=_sgns_optimum_inputs,
        pinned=(Pinned("a toy table, k = 5", {"X": _TOY_X + 1.0, "k": 5}),),
    ),
    Equation(
        "embeddings.pmi",
        inputs=_pmi_inputs,
        pinned=(Pinned("a symmetric toy table with zeros", {"X": _TOY_X}),
                Pinned("independent words (an outer product)", {"X": np.outer([1.0, 2.0, 3.0], [2.0, 1.0])}),
                Pinned("counts of 1e30 (float32 products of marginals overflow)", {"X": np.array([[1e30, 1.0], [1.0, 1e30]])})),
        errors=(ErrorInput("negative count", {"X": np.array([[1.0, -1.0]])}, ValueError, "non-negative"),
                ErrorInput("a word never seen", {"X": np.array([[1.0, 2.0], [0.0, 0.0]])}, ValueError,
                           "every word and context needs a positive count")),
        mistakes=(Mistake("counts not normalised", "log X_wc - log X_w. - log X_.c (the total N forgotten)",
                          _pmi_no_normalisation),),
    ),
    Equation(
        "embeddings.ppmi",
        inputs=_pmi_inputs,
        pinned=(Pinned("a symmetric toy table with zeros", {"X": _TOY_X}),),
        mistakes=(Mistake("not clipped", "the PMI itself, without max(PMI, 0) (negative values and -inf for zero counts "
                          "stay)", _ppmi_not_clipped),),
    ),
    Equation(
        "embeddings.glove_cooccurrence",
        inputs=_cooccurrence_inputs,
        pinned=(Pinned("the page's three sentences, window 1", {"sentences": PAGE_SENTENCES, "V": 5, "window": 1}),
                Pinned("the page's sentences, window 2, 1/distance", {"sentences": PAGE_SENTENCES, "V": 5, "window": 2,
                                                                      "weighting": "harmonic"})),
        errors=(ErrorInput("unknown weighting", {"sentences": [[0, 1]], "V": 2, "window": 1, "weighting": "sqrt"},
                           ValueError, "weighting must be"),
                ErrorInput("word id past V", {"sentences": [[0, 2]], "V": 2, "window": 1}, ValueError,
                           "outside the vocabulary")),
    ),
    Equation(
        "embeddings.glove_loss",
        inputs=_glove_loss_inputs,
        pinned=(Pinned("the page's co-occurrence counts, zero vectors", {
            "W": np.zeros((5, 2)), "W_tilde": np.zeros((5, 2)), "b": np.zeros(5), "b_tilde": np.zeros(5),
            "X": np.array([[0, 1, 0, 1, 0], [1, 0, 1, 2, 0], [0, 1, 0, 0, 1], [1, 2, 0, 0, 0], [0, 0, 1, 0, 0]], float)}),),
        mistakes=(Mistake("no weighting", "leaving out the weighting f(X_ij)", _glove_no_weight),),
        grad=("W", "W_tilde", "b", "b_tilde"),
        grad_at={"W": [[0.5, -1.0], [1.0, 0.25]], "W_tilde": [[0.25, 0.5], [-0.5, 1.0]], "b": [0.5, -0.25],
                 "b_tilde": [0.0, 1.0], "X": [[3.0, 1.0], [0.0, 150.0]]},
    ),
    Equation(
        "embeddings.glove_weighting",
        inputs=_glove_weight_inputs,
        pinned=(Pinned("0, x_max / 2, x_max, 10 x_max", {"x": np.array([0.0, 50.0, 100.0, 1000.0])}),),
        errors=(ErrorInput("negative count", {"x": np.array([-1.0])}, ValueError, "non-negative"),),
        mistakes=(Mistake("not capped", "(x / x_max)^alpha without the cap at 1", _glove_weight_uncapped),),
    ),
    Equation(
        "embeddings.fasttext_ngrams",
        errors=(ErrorInput("empty word", {"word": ""}, ValueError, "non-empty string"),
                ErrorInput("minn > maxn", {"word": "a", "minn": 4, "maxn": 3}, ValueError, "minn <= maxn")),
    ),
    Equation("embeddings.fasttext_hash"),
    Equation(
        "embeddings.fasttext_word_vector",
        inputs=_fasttext_vector_inputs,
        pinned=(Pinned("running, n = 3, 2-D buckets", {"word": "running", "Z": np.arange(14.0).reshape(7, 2) / 4,
                                                        "minn": 3, "maxn": 3}),),
    ),
)
