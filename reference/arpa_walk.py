"""One sentence's back-off walk compiled with Numba (the optional ``fast`` extra): ``BackoffModel.score_sentence``.

A sentence holds some fifteen tokens: too few for array operations (their fixed cost is most of the time)
and, walked in Python, each token costs a few dictionary probes and interpreter steps (10-15 µs a
sentence, 15-19x ``kenlm.Model.score``). Numba, the well-kept compiler of NumPy-style Python, runs the
same walk as machine code over the hash tables the batch scorer already builds (``_HashIndex``: a
``(key, row)`` pair per slot, linear probing, the multiplicative hash ``key * 0x9E3779B97F4A7C15 >> (64 -
bits)``), so what is left is the Python call and the words' dictionary lookups.

Without Numba (or with ``LMVERIFY_NO_NUMBA=1``) :func:`compiled` returns None and the model walks in Python;
both walks are tested against the batch scorer.
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
    """reference/_arpa_jit.py, or None where Numba is not installed or is switched off."""
    if os.environ.get("LMVERIFY_NO_NUMBA") == "1":
        return None
    try:
        from reference import _arpa_jit
    except ImportError:
        return None
    return _arpa_jit


def dispatchers() -> list:
    """The compiled functions of reference/_arpa_jit.py (for their compilation statistics); [] without Numba."""
    jit = _jit()
    if jit is None:
        return []
    return [f for f in vars(jit).values() if hasattr(f, "stats") and hasattr(f, "py_func")]


def tables(model, index_of):
    """The arrays the compiled walk reads, from the model and its per-order hash indexes (``index_of(k)``); a
    model read from a binary file has them already, as views of the mapped file."""
    flat = model.__dict__.get("_flat_tables")
    if flat is not None:
        return flat
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
    return pairs, starts, masks, shifts, lp, lp_off, bo, bo_off
