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

_MULT = 0x9E3779B97F4A7C15


def compiled():
    """The compiled walk, or None where Numba is not installed or is switched off."""
    if os.environ.get("LMVERIFY_NO_NUMBA") == "1":
        return None
    try:
        import numba
    except ImportError:
        return None
    return _build(numba)


_WALK = None


def _build(numba):
    global _WALK
    if _WALK is not None:
        return _WALK

    @numba.njit(cache=True, nogil=True)
    def probe(pairs, start, mask, shift, key):
        """Row of ``key`` in the order's table (slots ``start .. start + mask``), or -1."""
        s = np.int64((np.uint64(key) * np.uint64(_MULT)) >> np.uint64(shift))
        while True:
            row = pairs[start + s, 1]
            if row < 0:
                return -1
            if pairs[start + s, 0] == key:
                return row
            s = (s + 1) & mask

    @numba.njit(cache=True, nogil=True)
    def walk(ids, bos, order, V, pairs, starts, masks, shifts, lp, lp_off, bo, bo_off):
        """Total log10 p of the predicted tokens ``ids`` after ``bos`` (-1: none); the loop of
        ``BackoffModel.score_sentence`` (orders indexed from 1; tables of the orders 2 .. N)."""
        ctx = np.full(max(order, 2), -1, dtype=np.int64)  # ctx[j]: row of the j-gram ending at the last word
        ctx[1] = bos
        total = 0.0
        for i in range(len(ids)):
            w = ids[i]
            back = 0.0
            k = order
            r = -1
            while k > 1:
                c = ctx[k - 1]
                if c >= 0:
                    r = probe(pairs, starts[k], masks[k], shifts[k], c * V + w)
                    if r >= 0:
                        break
                    back += bo[bo_off[k - 1] + c]
                k -= 1
            if k > 1:
                total += lp[lp_off[k] + r] + back
            else:
                total += lp[lp_off[1] + w] + back
            for j in range(order - 1, 1, -1):
                if j >= k:
                    ctx[j] = r if j == k else -1
                else:
                    c = ctx[j - 1]
                    ctx[j] = probe(pairs, starts[j], masks[j], shifts[j], c * V + w) if c >= 0 else -1
            ctx[1] = w
        return total

    @numba.njit(cache=True, nogil=True)
    def rows(h, words, order, V, pairs, starts, masks, shifts, lp, lp_off, bo, bo_off, float32):
        """``BackoffModel.score_ngrams`` row by row: (log10 p, the longest matched order) of each ``words[i]``
        after the history ``h[i]`` (``order - 1`` ids, -1 = no word). With ``float32``, KenLM's float32 sum:
        the n-gram's log10 p, then the back-off weights from the shortest context up."""
        n = len(words)
        out = np.empty(n, np.float64)
        length = np.empty(n, np.int64)
        ctx = np.full(max(order, 2), -1, dtype=np.int64)  # ctx[j]: row of the last j history words
        bows = np.zeros(max(order + 1, 3), np.float64)
        for i in range(n):
            w = words[i]
            for j in range(1, order):
                # the j-gram h[order-1-j .. order-2]: chained from its first word, as the tables are keyed
                r = h[i, order - 1 - j]
                for m in range(1, j):
                    x = h[i, order - 1 - j + m]
                    if r < 0 or x < 0:
                        r = -1
                        break
                    r = probe(pairs, starts[m + 1], masks[m + 1], shifts[m + 1], r * V + x)
                ctx[j] = r
            k = order
            r = -1
            while k > 1:
                c = ctx[k - 1]
                if c >= 0:
                    r = probe(pairs, starts[k], masks[k], shifts[k], c * V + w)
                    if r >= 0:
                        break
                k -= 1
            p = lp[lp_off[k] + r] if k > 1 else lp[lp_off[1] + w]
            for j in range(2, order + 1):  # the context of the j-grams has j-1 words
                c = ctx[j - 1]
                bows[j] = bo[bo_off[j - 1] + c] if c >= 0 and bo_off[j] > bo_off[j - 1] + c else 0.0
            if float32:
                t = np.float32(p)
                for j in range(2, order + 1):
                    if j > k:
                        t += np.float32(bows[j])
                out[i] = t
            else:
                back = 0.0
                for j in range(k + 1, order + 1):
                    back += bows[j]
                out[i] = p + back
            length[i] = k
        return out, length

    _WALK = (walk, rows)
    return _WALK


def tables(model, index_of):
    """The arrays the compiled walk reads, from the model and its per-order hash indexes (``index_of(k)``)."""
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
