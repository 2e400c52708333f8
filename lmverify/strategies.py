"""Named hypothesis strategies: the only place test inputs are drawn from.

Bounded on purpose (STYLE.md: bounded elements, or the tests only
rediscover overflow), with the extremes drawn *deliberately* by their own
strategies (logits of +-1e4, rows that are fully masked, single-token rows).

Everything returns NumPy float64 arrays (or dicts of them); backends convert.
Elements come in two flavours:

* ``floats`` - general bounded float64 values;
* ``dyadic`` - multiples of 1/8 in a small range, exactly representable, so
  the SymPy backend computes with small rationals and stays fast.
"""

from __future__ import annotations

import functools
from functools import lru_cache

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

# -- composite strategies, made on first use --------------------------------------------

def composite(fn):
    """``hypothesis.strategies.composite``, applied the first time the strategy is asked for.

    ``st.composite`` reads the function's source (to warn when ``draw`` is never used) as it decorates; the
    registry's ~90 input strategies cost every pytest process (a student's run included) about 0.1 s at
    import that way, whether or not their tests are selected. The strategies are the same objects, made later.
    """
    made = None

    @functools.wraps(fn)
    def factory(*args, **kwargs):
        nonlocal made
        if made is None:
            made = st.composite(fn)
        return made(*args, **kwargs)

    return factory


# -- example budgets --------------------------------------------------------------

def budget(fraction: float):
    """``@settings`` for a test that runs a fraction of the active profile's examples (at least 1).

    Use it instead of a fixed ``max_examples``: a fixed number silently caps the ``thorough``
    profile; a fraction scales with it (the profile is loaded before test modules are imported).
    """
    from hypothesis import settings

    return settings(max_examples=max(1, int(settings.default.max_examples * fraction)))


# -- elements -----------------------------------------------------------------

#: bounded, finite, float64 values (minitorch's small_floats, wider)
small_floats = st.floats(min_value=-10.0, max_value=10.0, allow_nan=False, allow_infinity=False, width=64)

#: multiples of 1/8 in [-4, 4]: exact in binary, cheap for SymPy
dyadic = st.integers(min_value=-32, max_value=32).map(lambda i: i / 8.0)

#: the extremes: logits large enough to overflow a naive exp() in float32 and float64
extreme_values = st.sampled_from([-1e4, -1e3, -50.0, 0.0, 50.0, 1e3, 1e4])


def _elements(exact: bool) -> st.SearchStrategy[float]:
    return dyadic if exact else small_floats


# -- shapes ---------------------------------------------------------------------

@lru_cache(maxsize=None)
def dims(max_side: int = 5) -> st.SearchStrategy[int]:
    return st.integers(min_value=1, max_value=max_side)


@lru_cache(maxsize=4096)
def _arrays(shape: tuple[int, ...], exact: bool) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=_elements(exact))


def arrays(shape: tuple[int, ...], *, exact: bool = False) -> st.SearchStrategy[np.ndarray]:
    """A float64 array of the given shape (dyadic elements if ``exact``).

    One strategy object per (shape, exact), made once: hypothesis validates and unwraps a new strategy object on
    every draw, which cost more than the draw itself (strategies are immutable, so sharing them changes nothing
    that is drawn)."""
    return _arrays(tuple(int(n) for n in shape), bool(exact))


# -- logits and probability vectors ------------------------------------------------

@composite
def logits(draw, *, max_rows: int = 4, max_len: int = 6, exact: bool = False, extremes: bool = False) -> np.ndarray:
    """A (rows, n) matrix of logits; with ``extremes``, entries mix +-1e4 with ordinary values."""
    rows = draw(st.integers(1, max_rows))
    n = draw(st.integers(1, max_len))
    elements = st.one_of(extreme_values, _elements(exact)) if extremes else _elements(exact)
    return draw(hnp.arrays(np.float64, (rows, n), elements=elements))


@composite
def probability_vectors(draw, *, min_len: int = 1, max_len: int = 6, allow_zeros: bool = True,
                        exact: bool = False) -> np.ndarray:
    """A 1-D probability vector (non-negative, sums to one up to float64 rounding).

    With ``exact`` the entries are ratios of small integers, exactly normalisable.
    """
    n = draw(st.integers(min_len, max_len))
    lo = 0 if allow_zeros else 1
    weights = draw(st.lists(st.integers(lo, 16), min_size=n, max_size=n))
    assume(sum(weights) > 0)
    w = np.asarray(weights, dtype=np.float64)
    return w / w.sum()


@composite
def temperatures(draw, *, exact: bool = False) -> float:
    if exact:
        return draw(st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]))
    return draw(st.floats(min_value=0.05, max_value=20.0, allow_nan=False, allow_infinity=False))


# -- attention inputs -------------------------------------------------------------

@composite
def qkv_triples(draw, *, max_len: int = 5, max_dim: int = 4, batch: bool = False, exact: bool = False,
                self_attention: bool = False, lead: tuple[int, ...] | None = None) -> dict[str, np.ndarray]:
    """Q (…, n, d_k), K (…, m, d_k), V (…, m, d_v) with small shapes.

    ``self_attention`` forces n == m (needed for causal masks); ``batch`` adds
    one or two leading batch dimensions; ``lead`` gives them exactly.
    """
    n = draw(st.integers(1, max_len))
    m = n if self_attention else draw(st.integers(1, max_len))
    d_k = draw(st.integers(1, max_dim))
    d_v = draw(st.integers(1, max_dim))
    if lead is None:
        lead = ()
        if batch:
            lead = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
    el = _elements(exact)
    return {
        "Q": draw(hnp.arrays(np.float64, lead + (n, d_k), elements=el)),
        "K": draw(hnp.arrays(np.float64, lead + (m, d_k), elements=el)),
        "V": draw(hnp.arrays(np.float64, lead + (m, d_v), elements=el)),
    }


@composite
def masks(draw, n: int, m: int, *, allow_fully_masked_rows: bool = False) -> np.ndarray:
    """A boolean (n, m) keep-mask (True = attend). By default every row keeps at least one key."""
    mask = draw(hnp.arrays(np.bool_, (n, m)))
    if not allow_fully_masked_rows:
        for i in range(n):
            if not mask[i].any():
                mask[i, draw(st.integers(0, m - 1))] = True
    return mask


@composite
def masks_with_a_fully_masked_row(draw, n: int, m: int) -> np.ndarray:
    """A keep-mask in which at least one row keeps nothing (the degenerate case)."""
    mask = draw(masks(n, m))
    mask[draw(st.integers(0, n - 1))] = False
    return mask


@composite
def multi_head_setups(draw, *, max_len: int = 4, max_heads: int = 3, max_head_dim: int = 3,
                      exact: bool = False) -> dict:
    """X (n, d_model), memory (m, d_model), per-head projections and W_O for multi-head attention."""
    h = draw(st.integers(1, max_heads))
    d_head = draw(st.integers(1, max_head_dim))
    d_model = h * d_head
    n = draw(st.integers(1, max_len))
    m = draw(st.integers(1, max_len))
    el = _elements(exact) if exact else st.floats(-1.0, 1.0, allow_nan=False, width=64)
    arr = lambda shape: draw(hnp.arrays(np.float64, shape, elements=el))  # noqa: E731
    return {
        "X_q": arr((n, d_model)),
        "X_kv": arr((m, d_model)),
        "W_q": arr((d_model, d_model)),
        "W_k": arr((d_model, d_model)),
        "W_v": arr((d_model, d_model)),
        "W_o": arr((d_model, d_model)),
        "n_heads": h,
    }


# --- information strategies ---------------------------------------------------------
# Distributions for the information topic (entropy, cross-entropy, KL, MI, JSD). Built from
# small integer weights, so the SymPy backend stays fast; zeros are drawn on purpose.

@composite
def distribution_batches(draw, *, count: int = 1, min_len: int = 1, max_len: int = 6, allow_zeros: bool = True,
                         full_support: bool = False, batch: bool = False) -> tuple[np.ndarray, ...]:
    """``count`` probability arrays of one shape (..., n): rows sum to one along the last axis.

    ``full_support`` makes every entry positive; ``batch`` adds one or two leading dimensions.
    """
    n = draw(st.integers(min_len, max_len))
    lead: tuple[int, ...] = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))) if batch else ()
    lo = 1 if (full_support or not allow_zeros) else 0
    out = []
    for _ in range(count):
        w = draw(hnp.arrays(np.int64, lead + (n,), elements=st.integers(lo, 16)))
        w = w.astype(np.float64)
        w[w.sum(axis=-1) == 0, 0] = 1.0  # a row of all zeros is not a distribution
        out.append(w / w.sum(axis=-1, keepdims=True))
    return tuple(out)


@composite
def joint_distributions(draw, *, max_x: int = 4, max_y: int = 4, independent: bool = False) -> np.ndarray:
    """A joint p(x, y) as an (n_x, n_y) table summing to one; ``independent`` draws p(x) p(y)."""
    nx, ny = draw(st.integers(1, max_x)), draw(st.integers(1, max_y))
    if independent:
        px, = draw(distribution_batches(min_len=nx, max_len=nx))
        py, = draw(distribution_batches(min_len=ny, max_len=ny))
        return np.outer(px, py)
    w = draw(hnp.arrays(np.int64, (nx, ny), elements=st.integers(0, 16))).astype(np.float64)
    assume(w.sum() > 0)
    return w / w.sum()


#: per-token negative log-likelihoods (nats) of one sequence: a (T,) array of multiples of 1/8 in [0, 8]
nll_sequences = st.integers(1, 6).flatmap(
    lambda T: hnp.arrays(np.float64, (T,), elements=st.integers(0, 64).map(lambda i: i / 8.0)))


# --- ngram strategies -------------------------------------------------------------------
# Corpora (lists of whitespace-tokenised sentences) and count tables for the ngram topic.
# Small vocabularies on purpose, so words and n-grams repeat: mistakes such as N counted as the
# number of distinct words (types) instead of all tokens give the right answer exactly when every
# token is distinct, so most corpora are drawn with a word repeated, and some with every token
# distinct (where the right and the wrong answers must agree). The degenerate corpora (one sentence,
# one word, one word repeated, every sentence identical) are drawn deliberately.

#: the vocabulary of the drawn corpora (letters, so no word collides with <s>, </s> or <unk>)
NGRAM_VOCAB = ("a", "b", "c", "d", "e", "f")

#: a word of a small vocabulary (letters, so no word collides with <s>, </s> or <unk>)
ngram_words = st.sampled_from(list(NGRAM_VOCAB))


def has_repeated_word(corpus: list[str]) -> bool:
    """Whether some word occurs twice in the corpus (in one sentence or across sentences)."""
    words = [w for s in corpus for w in s.split()]
    return len(set(words)) < len(words)


@composite
def corpora(draw, *, max_sentences: int = 8, max_len: int = 7, max_vocab: int = 6,
            repeats: bool | None = None) -> list[str]:
    """A list of non-empty sentences over a vocabulary of at most ``max_vocab`` words (``NGRAM_VOCAB``).

    ``repeats=True``: some word occurs at least twice (forced where the draw had none, whenever the
    bounds leave room for two tokens); ``False``: every token of the corpus is distinct (so the corpus has
    at most ``max_vocab`` tokens); ``None`` (default): either, a repeated word in three draws out of four.
    """
    if not 1 <= max_vocab <= len(NGRAM_VOCAB) or max_len < 1 or max_sentences < 1:
        raise ValueError(f"corpora: need 1 <= max_vocab <= {len(NGRAM_VOCAB)}, max_len >= 1 and max_sentences >= 1, "
                         f"got max_vocab={max_vocab}, max_len={max_len}, max_sentences={max_sentences}")
    if repeats is None:
        repeats = draw(st.sampled_from([True, True, True, False]))
    if not repeats:
        limit = min(max_vocab, max_len * max_sentences)
        words = draw(st.permutations(NGRAM_VOCAB[:max_vocab]))[:draw(st.integers(1, limit))]
        out: list[str] = []
        while words:
            # at least what the sentences still allowed after this one cannot hold (it fits: limit above)
            least = max(1, len(words) - max_len * (max_sentences - len(out) - 1))
            k = draw(st.integers(least, min(max_len, len(words))))
            out.append(" ".join(words[:k]))
            words = words[k:]
        return out
    vocab = list(NGRAM_VOCAB[: draw(st.integers(1, max_vocab))])
    sentence = st.lists(st.sampled_from(vocab), min_size=1, max_size=max_len)
    corpus = [s.split() for s in draw(st.lists(sentence.map(" ".join), min_size=1, max_size=max_sentences))]
    if not has_repeated_word([" ".join(s) for s in corpus]):
        tokens = [w for s in corpus for w in s]
        w = draw(st.sampled_from(tokens))
        room = [i for i, s in enumerate(corpus) if len(s) < max_len]
        if room:
            i = draw(st.sampled_from(room))
            corpus[i].insert(draw(st.integers(0, len(corpus[i]))), w)
        elif len(corpus) < max_sentences:
            corpus.insert(draw(st.integers(0, len(corpus))), [w])
        elif len(tokens) >= 2:  # every sentence full: another token becomes w
            i = draw(st.sampled_from([i for i, s in enumerate(corpus) if w not in s or len(s) > 1]))
            j = draw(st.sampled_from([j for j, x in enumerate(corpus[i]) if x != w]))
            corpus[i][j] = w
    return [" ".join(s) for s in corpus]


@composite
def corpus_count_tables(draw, order: int, *, repeats: bool | None = None, max_sentences: int = 4,
                        max_len: int = 5, max_vocab: int = 4) -> dict:
    """The order-``order`` count table of a drawn corpus (:func:`corpora`), as an n-gram model counts it.

    Each sentence is padded as the page's code pads it (``<s> w1 .. wk </s>``). Returns ``counts`` (H, V):
    row h a context seen (the first ``order`` - 1 words of an n-gram, in order of first appearance), column
    w a word of the vocabulary (the corpus' words and ``</s>``, sorted); ``context_counts`` (H,): each
    context's count as the first words of an n-gram (each row of ``counts`` sums to it); ``corpus`` and
    ``vocab``. For ``order`` 1 there is one row (the empty context): the unigram counts.
    """
    if int(order) != order or order < 1:
        raise ValueError(f"corpus_count_tables: order must be an integer >= 1, got {order!r}")
    corpus = draw(corpora(max_sentences=max_sentences, max_len=max_len, max_vocab=max_vocab, repeats=repeats))
    padded = [["<s>"] + s.split() + ["</s>"] for s in corpus]
    vocab = sorted({w for s in padded for w in s[1:]})
    col = {w: j for j, w in enumerate(vocab)}
    rows: dict[tuple, int] = {}
    table: list[list[float]] = []
    for s in padded:
        start = 1 if order == 1 else 0  # <s> is a context, never a predicted word
        for i in range(start, len(s) - order + 1):
            h, w = tuple(s[i:i + order - 1]), s[i + order - 1]
            if h not in rows:
                rows[h] = len(table)
                table.append([0.0] * len(vocab))
            table[rows[h]][col[w]] += 1.0
    counts = np.asarray(table, dtype=np.float64).reshape(len(table), len(vocab))
    return {"counts": counts, "context_counts": counts.sum(axis=1), "corpus": corpus, "vocab": vocab}


#: the extremes on purpose: one word, one word many times, identical sentences, a single long sentence
degenerate_corpora = st.one_of(
    st.just(["a"]),
    st.integers(1, 6).map(lambda n: ["a"] * n),
    st.integers(2, 9).map(lambda n: [" ".join(["a"] * n)]),
    st.integers(1, 5).map(lambda n: ["a b"] * n),
    st.lists(ngram_words, min_size=1, max_size=12).map(lambda ws: [" ".join(ws)]),
)


@composite
def count_tables(draw, *, max_contexts: int = 4, max_vocab: int = 5, max_count: int = 6,
                 allow_empty_rows: bool = True) -> np.ndarray:
    """A (contexts, vocabulary) float64 table of non-negative integer counts."""
    h = draw(st.integers(1, max_contexts))
    v = draw(st.integers(1, max_vocab))
    c = draw(hnp.arrays(np.int64, (h, v), elements=st.integers(0, max_count))).astype(np.float64)
    if not allow_empty_rows:
        c[c.sum(axis=1) == 0, 0] = 1.0
    return c


@composite
def markov_joints(draw, *, max_vocab: int = 3, length: int = 3) -> np.ndarray:
    """A joint over ``length`` words that is first-order Markov: p(w1) prod_t p(w_t | w_{t-1})."""
    v = draw(st.integers(1, max_vocab))
    init = draw(probability_vectors(min_len=v, max_len=v))
    rows = [draw(probability_vectors(min_len=v, max_len=v)) for _ in range(v)]
    trans = np.stack(rows)
    joint = init
    for _ in range(length - 1):
        joint = joint[..., None] * trans  # (..., w_{t-1}, 1) * (w_{t-1}, w_t)
    return joint


@composite
def sequence_joints(draw, *, max_vocab: int = 3, length: int = 3) -> np.ndarray:
    """Any joint distribution over ``length`` words (a (V,)*length table of ratios of small integers)."""
    v = draw(st.integers(1, max_vocab))
    w = draw(hnp.arrays(np.int64, (v,) * length, elements=st.integers(0, 8))).astype(np.float64)
    assume(w.sum() > 0)
    return w / w.sum()
