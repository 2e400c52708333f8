"""The compiled n-gram loops, where Numba (the optional ``fast`` extra) is installed: which to use, and their tables.

The loops themselves are in reference/_arpa_jit.py (module-level functions, so that Numba's ``cache=True``
stores their machine code in ``__pycache__``: compiled once, then loaded): the sentence walk of
``BackoffModel.score_sentence`` and the row scorer of ``score_ngrams`` over the batch scorer's hash tables
(``_HashIndex``: a ``(key, row)`` pair per slot, linear probing, the multiplicative hash ``key *
0x9E3779B97F4A7C15 >> (64 - bits)``), and the loops of ``lmverify ngram estimate`` (reading, counting,
writing) and ``lmverify ngram score`` (tokens to ids, the walk, the output lines). They run compiled ahead of
time where that works (reference/_arpa_aot.py: the same functions in an extension built once into a cache
folder; the process then imports no Numba), else as Numba's JIT functions.

Without Numba (or with ``LMVERIFY_NO_NUMBA=1``) :func:`compiled` and :func:`_jit` return None and the NumPy
and Python paths are used; the tests check that both give the same numbers and the same bytes.
"""

from __future__ import annotations

import os

import numpy as np


def compiled():
    """(the compiled sentence walk, the compiled row scorer), or None where Numba is not installed or is
    switched off."""
    global _WALK
    jit = _jit()
    if jit is None:
        return None
    _WALK = (jit.walk, jit.rows)
    return _WALK


_WALK = None


def _jit():
    """The compiled kernels: reference/_arpa_jit.py's functions compiled ahead of time (reference/_arpa_aot.py:
    no Numba in the process; built once, on first use, into a cache folder), else, where that build fails or
    ``LMVERIFY_NO_AOT=1``, reference/_arpa_jit.py itself (Numba's JIT); None where Numba is not installed or
    ``LMVERIFY_NO_NUMBA=1`` (the NumPy paths)."""
    if os.environ.get("LMVERIFY_NO_NUMBA") == "1":
        return None
    global _AOT
    if os.environ.get("LMVERIFY_NO_AOT") != "1":
        if _AOT is None:
            _AOT = _load_aot() or False
        if _AOT:
            return _AOT
    try:
        from reference import _arpa_jit
    except ImportError:
        return None
    return _arpa_jit


_AOT = None  # this process's ahead-of-time kernels (False: not available)


def _load_aot():
    """reference/_arpa_aot.py's kernels, or None (Numba not installed: nothing can build them; the build
    failed: said on stderr by the loader)."""
    import importlib.util

    if importlib.util.find_spec("numba") is None:
        return None
    from reference import _arpa_aot

    return _arpa_aot.load()


def dispatchers() -> list:
    """The Numba dispatchers in use (for their compilation statistics); [] without Numba or with the
    ahead-of-time kernels."""
    jit = _jit()
    if jit is None:
        return []
    return [f for f in vars(jit).values() if hasattr(f, "stats") and hasattr(f, "py_func")]


def tables(model, index_of):
    """The arrays the compiled walk reads, from the model and its per-order hash indexes (``index_of(k)``); a
    model read from a binary file has them already, as views of the mapped file."""
    flat = model.__dict__.get("_flat_tables")
    if flat is not None:
        return _read_only(flat)
    N = model.order
    pairs, starts, masks, shifts = [], np.zeros(N + 1, np.int64), np.zeros(N + 1, np.int64), np.zeros(N + 1, np.int64)
    at = 0
    for k in range(2, N + 1):
        index = index_of(k)
        p = index.table.view(np.int64).reshape(-1, 2)
        pairs.append(p)
        starts[k], masks[k], shifts[k] = at, index.mask, 64 - index.bits
        at += len(p)
    pairs = np.concatenate(pairs) if pairs else np.full((1, 2), -1, np.int64)
    lp_off = np.concatenate([[0, 0], np.cumsum([len(x) for x in model.logprob])])[: N + 1].astype(np.int64)
    bo_off = np.concatenate([[0, 0], np.cumsum([len(x) for x in model.backoff])])[: N + 1].astype(np.int64)
    lp = np.concatenate(model.logprob).astype(np.float64)
    bo = np.concatenate(model.backoff).astype(np.float64)
    return _read_only((pairs, starts, masks, shifts, lp, lp_off, bo, bo_off))


def _read_only(arrays: tuple) -> tuple:
    """Read-only views: the tables of a mapped binary file are read-only and Numba compiles a function once per
    combination of argument types, writability included; with every table read-only, a model read from ARPA text
    and one mapped from a binary file share one machine code (a clean checkout compiles the walk once)."""
    out = []
    for a in arrays:
        v = a.view()
        v.setflags(write=False)
        out.append(v)
    return tuple(out)


#: the compact scoring table's largest load (keys per slot): an order of n n-grams has
#: max(n + 1, ceil(n / QUERY_LOAD), 4) slots
QUERY_LOAD_FRACTION = (3, 4)
QUERY_LOAD = QUERY_LOAD_FRACTION[0] / QUERY_LOAD_FRACTION[1]
_MULT = 0x9E3779B97F4A7C15


def query_size(n: int) -> int:
    """The slots of a compact scoring table for ``n`` keys: a load of at most :data:`QUERY_LOAD`, and always a
    free slot."""
    num, den = QUERY_LOAD_FRACTION
    return max(n + 1, -(-den * n // num), 4)


def query_home(key: np.ndarray, size: int) -> np.ndarray:
    """The home slot of each key in a compact table of ``size`` slots (reference/_arpa_jit.py's ``qhome``)."""
    with np.errstate(over="ignore"):
        h = (key.astype(np.uint64) * np.uint64(_MULT)) >> np.uint64(32)
        return ((h * np.uint64(size)) >> np.uint64(32)).astype(np.int64)


def query_arrays(sizes: list[int]):
    """Empty compact tables for orders 2 .. N of ``sizes`` slots: (qk, qv, qt, qtv, geometry) (see
    :func:`query_tables`)."""
    N = len(sizes) + 1
    lower, top = sizes[:-1], (sizes[-1] if sizes else 0)
    qk = np.full((max(sum(lower), 1), 2), -1, np.int64)
    qv = qk.view(np.float32).reshape(len(qk), 4)
    qv[:, 2:] = 0
    qt = np.full((max(top, 1), 3), -1, np.int32)
    qtv = qt.view(np.float32)
    qtv[:, 2] = 0
    geometry = np.zeros((2, N + 1), np.int64)
    if sizes:
        geometry[0, 2:N] = np.concatenate([[0], np.cumsum(lower)[:-1]]) if lower else []
        geometry[1, 2:] = sizes
    return qk, qv, qt, qtv, geometry


def query_tables(model, jit=None):
    """The compact tables ``lmverify ngram score`` walks (reference/_arpa_jit.py's ``score_lines32``), built once
    per model (a binary model file holds them: views of the mapped file): (qk, qv, qt, qtv, geometry, q1).

    - ``qk``: int64 (S, 2), the orders 2 .. N-1 end to end: a slot holds the key ``c * V + w`` (``c``: the
      context's slot in the order below, or the word id for a bigram's context; -1: an empty slot), then the
      log10 p and back-off weight as two float32 (``qv``, a float32 (S, 4) view of the same memory: columns 2
      and 3): 16 bytes, one cache line per probe;
    - ``qt``: int32 (S_N, 3), the highest order: the key's low and high halves, then log10 p as float32 (``qtv``,
      the float32 view, column 2); no back-off weight (its n-grams are never a context): 12 bytes a slot;
    - each order at a load of at most 3/4 (:func:`query_size`); the home slot is the high 32 bits of ``key *
      0x9E3779B97F4A7C15`` scaled to the size, then linear probing;
    - ``geometry``: int64 (2, N + 1): each order's first slot (in ``qk``; 0 for the highest, in ``qt``) and size;
    - ``q1``: float32 (V, 2), the unigrams' log10 p and back-off weight by word id.

    The float32 values are the model's float64 values rounded to float32 (``np.float32(x)``), which is what
    query's sums (and ``score_ngrams(..., float32=True)``) use: the same output. The float64 values stay in the
    model's own arrays (``BackoffModel`` promises those, bit for bit the ARPA text's)."""
    cached = model.__dict__.get("_query_tables")
    if cached is not None:
        return cached
    if jit is None:
        jit = _jit()
    N, V = model.order, model.vocab_size
    q1 = np.empty((V, 2), np.float32)
    q1[:, 0] = model.logprob[0]
    q1[:, 1] = model.backoff[0]
    sizes = [query_size(len(model.keys[k - 1])) for k in range(2, N + 1)]
    qk, qv, qt, qtv, geometry = query_arrays(sizes)
    slot_of_row = None
    for k in range(2, N + 1):
        at, size = int(geometry[0, k]), int(geometry[1, k])
        keys = np.asarray(model.keys[k - 1], dtype=np.int64)
        ctx, w = np.divmod(keys, V)
        if k > 2:
            ctx = slot_of_row[ctx]
        key = ctx * V + w
        del ctx, w
        table = _place(query_home(key, size), size, jit)
        used = np.flatnonzero(table >= 0)
        rows = table[used]
        if k == N:
            qt[used, 0] = (key[rows] & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
            qt[used, 1] = (key[rows] >> 32).astype(np.int32)
            qtv[used, 2] = model.logprob[k - 1][rows]
            break
        qk[at + used, 0] = key[rows]
        qv[at + used, 2] = model.logprob[k - 1][rows]
        qv[at + used, 3] = model.backoff[k - 1][rows]
        slot_of_row = np.empty(len(keys), np.int64)
        slot_of_row[rows] = used + at
    out = _read_only((qk, qv, qt, qtv, geometry, q1))
    model.__dict__["_query_tables"] = out
    return out


def _place(home, size: int, jit):
    """The row in each of ``size`` slots (-1: empty) for keys with home slots ``home``, put in order, linear
    probing (reference/_arpa_jit.py's ``place_rows``)."""
    if jit is not None:
        return jit.place_rows(home, size)
    table = np.full(size, -1, np.int64)
    for i, s in enumerate(home.tolist()):
        while table[s] >= 0:
            s = s + 1 if s + 1 < size else 0
        table[s] = i
    return table
