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

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

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

def dims(max_side: int = 5) -> st.SearchStrategy[int]:
    return st.integers(min_value=1, max_value=max_side)


def arrays(shape: tuple[int, ...], *, exact: bool = False) -> st.SearchStrategy[np.ndarray]:
    """A float64 array of the given shape (dyadic elements if ``exact``)."""
    return hnp.arrays(np.float64, shape, elements=_elements(exact))


# -- logits and probability vectors ------------------------------------------------

@st.composite
def logits(draw, *, max_rows: int = 4, max_len: int = 6, exact: bool = False, extremes: bool = False) -> np.ndarray:
    """A (rows, n) matrix of logits; with ``extremes``, entries mix +-1e4 with ordinary values."""
    rows = draw(st.integers(1, max_rows))
    n = draw(st.integers(1, max_len))
    elements = st.one_of(extreme_values, _elements(exact)) if extremes else _elements(exact)
    return draw(hnp.arrays(np.float64, (rows, n), elements=elements))


@st.composite
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


@st.composite
def temperatures(draw, *, exact: bool = False) -> float:
    if exact:
        return draw(st.sampled_from([0.25, 0.5, 1.0, 2.0, 4.0]))
    return draw(st.floats(min_value=0.05, max_value=20.0, allow_nan=False, allow_infinity=False))


# -- attention inputs -------------------------------------------------------------

@st.composite
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


@st.composite
def masks(draw, n: int, m: int, *, allow_fully_masked_rows: bool = False) -> np.ndarray:
    """A boolean (n, m) keep-mask (True = attend). By default every row keeps at least one key."""
    mask = draw(hnp.arrays(np.bool_, (n, m)))
    if not allow_fully_masked_rows:
        for i in range(n):
            if not mask[i].any():
                mask[i, draw(st.integers(0, m - 1))] = True
    return mask


@st.composite
def masks_with_a_fully_masked_row(draw, n: int, m: int) -> np.ndarray:
    """A keep-mask in which at least one row keeps nothing (the degenerate case)."""
    mask = draw(masks(n, m))
    mask[draw(st.integers(0, n - 1))] = False
    return mask


@st.composite
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

@st.composite
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


@st.composite
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
# Small vocabularies on purpose, so n-grams repeat; the degenerate corpora (one sentence,
# one word, one word repeated, every sentence identical) are drawn deliberately.

#: a word of a small vocabulary (letters, so no word collides with <s>, </s> or <unk>)
ngram_words = st.sampled_from(["a", "b", "c", "d", "e", "f"])


@st.composite
def corpora(draw, *, max_sentences: int = 8, max_len: int = 7, max_vocab: int = 6) -> list[str]:
    """A list of non-empty sentences over a vocabulary of at most ``max_vocab`` words."""
    vocab = ["a", "b", "c", "d", "e", "f"][: draw(st.integers(1, max_vocab))]
    sentence = st.lists(st.sampled_from(vocab), min_size=1, max_size=max_len).map(" ".join)
    return draw(st.lists(sentence, min_size=1, max_size=max_sentences))


#: the extremes on purpose: one word, one word many times, identical sentences, a single long sentence
degenerate_corpora = st.one_of(
    st.just(["a"]),
    st.integers(1, 6).map(lambda n: ["a"] * n),
    st.integers(2, 9).map(lambda n: [" ".join(["a"] * n)]),
    st.integers(1, 5).map(lambda n: ["a b"] * n),
    st.lists(ngram_words, min_size=1, max_size=12).map(lambda ws: [" ".join(ws)]),
)


@st.composite
def count_tables(draw, *, max_contexts: int = 4, max_vocab: int = 5, max_count: int = 6,
                 allow_empty_rows: bool = True) -> np.ndarray:
    """A (contexts, vocabulary) float64 table of non-negative integer counts."""
    h = draw(st.integers(1, max_contexts))
    v = draw(st.integers(1, max_vocab))
    c = draw(hnp.arrays(np.int64, (h, v), elements=st.integers(0, max_count))).astype(np.float64)
    if not allow_empty_rows:
        c[c.sum(axis=1) == 0, 0] = 1.0
    return c


@st.composite
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


@st.composite
def sequence_joints(draw, *, max_vocab: int = 3, length: int = 3) -> np.ndarray:
    """Any joint distribution over ``length`` words (a (V,)*length table of ratios of small integers)."""
    v = draw(st.integers(1, max_vocab))
    w = draw(hnp.arrays(np.int64, (v,) * length, elements=st.integers(0, 8))).astype(np.float64)
    assume(w.sum() > 0)
    return w / w.sum()
