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
                self_attention: bool = False) -> dict[str, np.ndarray]:
    """Q (…, n, d_k), K (…, m, d_k), V (…, m, d_v) with small shapes.

    ``self_attention`` forces n == m (needed for causal masks); ``batch`` adds
    one or two leading batch dimensions.
    """
    n = draw(st.integers(1, max_len))
    m = n if self_attention else draw(st.integers(1, max_len))
    d_k = draw(st.integers(1, max_dim))
    d_v = draw(st.integers(1, max_dim))
    lead: tuple[int, ...] = ()
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
