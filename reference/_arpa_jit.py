"""The Numba-compiled loops of the n-gram scorer (imported only where Numba is installed: the ``fast`` extra).

Defined at module level so that ``cache=True`` works: the machine code is written once to ``__pycache__``
and later processes load it instead of compiling (reference/arpa_walk.py loads this module). The small
helpers are inlined (``inline="always"``): a call that passes arrays costs reference-count updates on each
of them, which was most of the time of the per-token loops.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_MULT = 0x9E3779B97F4A7C15


@numba.njit(cache=True, nogil=True, inline="always")
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

@numba.njit(cache=True, nogil=True, inline="always")
def longest(ctx, w, order, V, pairs, starts, masks, shifts):
    """(k, r): the longest order k whose k-gram (context row ctx[k-1], then w) is in the tables, and its row
    (k = 1: the unigram, r = -1)."""
    k = order
    r = -1
    while k > 1:
        c = ctx[k - 1]
        if c >= 0:
            r = probe(pairs, starts[k], masks[k], shifts[k], c * V + w)
            if r >= 0:
                break
        k -= 1
    return k, r


@numba.njit(cache=True, nogil=True, inline="always")
def advance(ctx, k, r, w, order, V, pairs, starts, masks, shifts):
    """The context rows after predicting w, matched at order k (row r): ctx[j] is the j-gram ending at w."""
    for j in range(order - 1, 1, -1):
        if j >= k:
            ctx[j] = r if j == k else -1
        else:
            c = ctx[j - 1]
            ctx[j] = probe(pairs, starts[j], masks[j], shifts[j], c * V + w) if c >= 0 else -1
    ctx[1] = w


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
        advance(ctx, k, r, w, order, V, pairs, starts, masks, shifts)
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
        k, r = longest(ctx, w, order, V, pairs, starts, masks, shifts)
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


@numba.njit(cache=True, nogil=True, inline="always")
def put_int(out, o, v):
    if v < 0:
        out[o] = 45
        o += 1
        v = -v
    n = 1
    t = v
    while t >= 10:
        t //= 10
        n += 1
    for j in range(n - 1, -1, -1):
        out[o + j] = 48 + v % 10
        v //= 10
    return o + n

@numba.njit(cache=True, nogil=True, inline="always")
def put_bytes(out, o, src, a, b):
    for j in range(a, b):
        out[o] = src[j]
        o += 1
    return o

_POW10 = np.array([10.0 ** i for i in range(23)])


@numba.njit(cache=True, nogil=True, inline="always")
def _round_at(v, s, lo, hi, tol):
    """v rounded to ``s`` decimal places, ``d * 10**-s``: (1 if it lies inside the float32 rounding interval
    (lo, hi) of v, 0 if outside, -1 if too close to a boundary or to a tie to say; d)."""
    scaled = v * _POW10[s] if s >= 0 else v / _POW10[-s]  # < 1e9: error below 1.2e-7
    if abs(scaled - np.floor(scaled) - 0.5) < 1e-6:  # a near-tie: which way it rounds is not known here
        for d in (np.floor(scaled), np.floor(scaled) + 1.0):
            c = d / _POW10[s] if s >= 0 else d * _POW10[-s]
            if c > lo - tol and c < hi + tol:
                return -1, 0.0
        return 0, 0.0  # neither neighbour reads back: too few places either way
    d = np.rint(scaled)
    c = d / _POW10[s] if s >= 0 else d * _POW10[-s]
    if c > lo + tol and c < hi - tol:
        return 1, d
    if c > lo - tol and c < hi + tol:
        return -1, d
    return 0, d


@numba.njit(cache=True, nogil=True, inline="always")
def shortest_f32(x):
    """(ok, digits, s): the shortest decimal ``digits * 10**-s`` that reads back as the float32 ``x`` and, of
    those, the closest (what NumPy's Dragon4 prints in unique mode); ok False where this cannot decide it
    exactly (zero, |x| outside [1e-5, 1e7), a near-tie in the rounding of the digits, a candidate within a
    few float64 ulps of the float32 rounding boundary): the caller formats those in Python.

    Rounding v to more places never moves it further from v, so inside a symmetric interval the places that
    read back form a range [s*, ...): s* is found from 7 significant digits up or down. Just above a power of
    two the interval is lopsided: every count of places is tried from 0 significant digits up."""
    v = abs(np.float64(x))
    if not (v >= 1e-5 and v < 1e7):
        return False, 0, 0
    m, ex = math.frexp(v)
    ulp = math.ldexp(1.0, ex - 24)  # float32 spacing above v (24-bit significands)
    hi = v + ulp / 2
    lo = v - (ulp / 4 if m == 0.5 else ulp / 2)  # below a power of two the spacing halves
    tol = 8 * math.ldexp(1.0, ex - 53)
    X0 = np.int64(math.floor(math.log10(v))) + 1  # 10**X0 > v (or = v's power of ten if log10 rounded up)
    first, last = -X0, -X0 + 9  # 0 .. 9 significant digits (a float32 needs at most 9)
    if m == 0.5:
        for s in range(first, last + 1):
            st, d = _round_at(v, s, lo, hi, tol)
            if st < 0:
                return False, 0, 0
            if st == 1:
                return True, np.int64(d), s
        return False, 0, 0
    s = -X0 + 7
    st, d = _round_at(v, s, lo, hi, tol)
    if st < 0:
        return False, 0, 0
    if st == 1:  # go down while it still reads back
        best_d, best_s = d, s
        while s > first:
            st, d = _round_at(v, s - 1, lo, hi, tol)
            if st < 0:
                return False, 0, 0
            if st == 0:
                break
            s -= 1
            best_d, best_s = d, s
        return True, np.int64(best_d), best_s
    while s < last:  # go up until it reads back
        s += 1
        st, d = _round_at(v, s, lo, hi, tol)
        if st < 0:
            return False, 0, 0
        if st == 1:
            return True, np.int64(d), s
    return False, 0, 0


_F32_CACHE_BITS = 14


@numba.njit(cache=True, nogil=True)
def f32_digits(values):
    """:func:`shortest_f32` of each value: (decided, digits, decimal places)."""
    n = len(values)
    ok = np.empty(n, np.bool_)
    dd = np.empty(n, np.int64)
    ss = np.empty(n, np.int64)
    # the scores of a text repeat (the same n-gram, the same back-off): a direct-mapped cache of the last value
    # seen in each slot, keyed by the float32's bits, saves recomputing about half of them
    bits = values.view(np.uint32)
    size = 1 << _F32_CACHE_BITS
    ckey = np.full(size, -1, np.int64)
    cok = np.zeros(size, np.bool_)
    cd = np.zeros(size, np.int64)
    cs = np.zeros(size, np.int64)
    for i in range(n):
        b = np.int64(bits[i])
        slot = ((b * 0x9E3779B1) & 0xFFFFFFFF) >> (32 - _F32_CACHE_BITS)
        if ckey[slot] != b:
            ckey[slot] = b
            cok[slot], cd[slot], cs[slot] = shortest_f32(values[i])
        ok[i], dd[i], ss[i] = cok[slot], cd[slot], cs[slot]
    return ok, dd, ss


@numba.njit(cache=True, nogil=True, inline="always")
def put_digits(out, o, negative, d, s):
    """Write ``d * 10**-s`` positionally (as ``format_float_positional(..., trim='-')``); the digits are written
    from the last one back (no scratch array: this runs once per number printed)."""
    while d % 10 == 0 and d > 0:
        d //= 10
        s -= 1
    L = 1
    t = d
    while t >= 10:
        t //= 10
        L += 1
    if negative:
        out[o] = 45
        o += 1
    ip = L - s  # digits before the point
    if ip <= 0:
        out[o] = 48
        out[o + 1] = 46
        o += 2
        for _ in range(-ip):
            out[o] = 48
            o += 1
        end = o + L
        p = end - 1
    elif s <= 0:
        end = o + L - s
        for q in range(-s):
            out[end - 1 - q] = 48
        p = o + L - 1
    else:
        end = o + L + 1
        p = end - 1
    t = d
    for q in range(L):
        if q == s and ip > 0 and s > 0:
            out[p] = 46
            p -= 1
        out[p] = 48 + t % 10
        t //= 10
        p -= 1
    return end


@numba.njit(cache=True, nogil=True, inline="always")
def put_f32(out, o, x):
    """Write the float32 ``x`` as NumPy's ``format_float_positional(x, unique=True, trim='-')``; -1 where
    :func:`shortest_f32` cannot decide (nothing written)."""
    ok, d, s = shortest_f32(x)
    if not ok:
        return -1
    return put_digits(out, o, x < 0, d, s)


@numba.njit(cache=True, nogil=True)
def f32_undecided(values):
    """Which float32 values :func:`put_f32` leaves to Python."""
    out = np.zeros(len(values), np.bool_)
    for i in range(len(values)):
        out[i] = not shortest_f32(values[i])[0]
    return out


@numba.njit(cache=True, nogil=True)
def format_f32_many(values):
    """The texts of ``values`` end to end and their offsets (for tests): :func:`f32_digits`, then
    :func:`put_digits` on each decided value, as :func:`query_lines` writes them; a value left to Python gets an
    empty text. (Calling the compiled :func:`f32_digits` rather than inlining :func:`shortest_f32` again halves
    what a clean checkout compiles for these two.)"""
    ok, dd, ss = f32_digits(values)
    out = np.empty(len(values) * 20 + 1, np.uint8)
    off = np.zeros(len(values) + 1, np.int64)
    o = 0
    for i in range(len(values)):
        if ok[i]:
            o = put_digits(out, o, values[i] < 0, dd[i], ss[i])
        off[i + 1] = o
    return out[:o], off


@numba.njit(cache=True, nogil=True)
def query_lines(text, tok_start, tok_end, per_sentence, eos, vocab, length, scores, sd, ss, pool, pool_off,
                score_idx, totals, td, ts, total_idx, oov_per, words, sentences, size):
    """query's lines: per word ``token=vocab_id ngram_length log10p<TAB>`` (the tokens' bytes from ``text``,
    ``</s>`` last when ``eos``), then per sentence ``Total: log10 OOV: n<NL>``; the float32 numbers from their
    :func:`f32_digits` (``sd``/``ss``, ``td``/``ts``) or, where ``score_idx``/``total_idx`` is >= 0, from
    ``pool`` (formatted in Python)."""
    out = np.empty(size, np.uint8)
    eos_text = np.array([60, 47, 115, 62], np.uint8)  # </s>
    total_text = np.array([84, 111, 116, 97, 108, 58, 32], np.uint8)  # "Total: "
    oov_text = np.array([32, 79, 79, 86, 58, 32], np.uint8)  # " OOV: "
    o = 0
    p = 0  # prediction
    t = 0  # token
    for i in range(len(per_sentence)):
        m = per_sentence[i]
        if words:
            for j in range(m):
                if eos and j == m - 1:
                    o = put_bytes(out, o, eos_text, 0, 4)
                else:
                    o = put_bytes(out, o, text, tok_start[t], tok_end[t])
                    t += 1
                out[o] = 61  # =
                o = put_int(out, o + 1, vocab[p])
                out[o] = 32
                o = put_int(out, o + 1, length[p])
                out[o] = 32
                o += 1
                s = score_idx[p]
                if s >= 0:
                    o = put_bytes(out, o, pool, pool_off[s], pool_off[s + 1])
                else:
                    o = put_digits(out, o, scores[p] < 0, sd[p], ss[p])
                out[o] = 9
                o += 1
                p += 1
        if sentences:
            o = put_bytes(out, o, total_text, 0, 7)
            s = total_idx[i]
            if s >= 0:
                o = put_bytes(out, o, pool, pool_off[s], pool_off[s + 1])
            else:
                o = put_digits(out, o, totals[i] < 0, td[i], ts[i])
            o = put_bytes(out, o, oov_text, 0, 6)
            o = put_int(out, o, oov_per[i])
            out[o] = 10
            o += 1
    return out[:o]


@numba.njit(cache=True, nogil=True)
def text_ids(text, n_lines, vpairs, vmask, vshift, vword_ids, unk):
    """Tokens of the UTF-8 ``text`` split on ASCII whitespace (the caller checked there is no other whitespace and
    no NUL byte): (id of each token, -2 for a token longer than 8 bytes, left to the caller's dictionary; start
    and end offsets; tokens per line). A token of up to 8 bytes is looked up as its bytes packed big-endian in
    one integer, in the vocabulary's hash table (``BackoffModel._packed_vocabulary``)."""
    n = len(text)
    cap = n // 2 + 1
    ids = np.empty(cap, np.int64)
    starts = np.empty(cap, np.int64)
    ends = np.empty(cap, np.int64)
    per_line = np.zeros(n_lines, np.int64)
    line = 0
    t = 0
    i = 0
    while i < n:
        c = text[i]
        if c == 10:
            line += 1
            i += 1
            continue
        if c == 32 or (9 <= c <= 13) or (28 <= c <= 31):
            i += 1
            continue
        a = i
        key = np.uint64(0)
        while i < n:
            c = text[i]
            if c == 32 or (9 <= c <= 13) or (28 <= c <= 31):
                break
            if i - a < 8:
                key = key | (np.uint64(c) << np.uint64(8 * (7 - (i - a))))
            i += 1
        starts[t] = a
        ends[t] = i
        if i - a > 8:
            ids[t] = -2
        else:
            k = np.int64(key)
            s = np.int64((np.uint64(k) * np.uint64(_MULT)) >> np.uint64(vshift))
            r = -1
            while True:
                row = vpairs[s, 1]
                if row < 0:
                    break
                if vpairs[s, 0] == k:
                    r = row
                    break
                s = (s + 1) & vmask
            ids[t] = vword_ids[r] if r >= 0 else unk
        per_line[line] += 1
        t += 1
    return ids[:t], starts[:t], ends[:t], per_line


@numba.njit(cache=True, nogil=True, inline="always")
def qhome(key, size):
    """The home slot of ``key`` in a compact table of ``size`` slots (< 2^32): the high 32 bits of the
    multiplicative scramble, scaled to the size (so any size, not only powers of two)."""
    return np.int64((((np.uint64(key) * np.uint64(_MULT)) >> np.uint64(32)) * np.uint64(size)) >> np.uint64(32))


@numba.njit(cache=True, nogil=True, inline="always")
def qprobe(qk, start, size, key):
    """Slot (index into ``qk``) of ``key`` in one order's part of the compact scoring table (slots ``start ..
    start + size - 1``, key -1: empty; linear probing, wrapping at the end), or -1."""
    s = qhome(key, size)
    while True:
        kk = qk[start + s, 0]
        if kk == key:
            return start + s
        if kk < 0:
            return -1
        s += 1
        if s == size:
            s = 0


@numba.njit(cache=True, nogil=True, inline="always")
def qtkey(qt, s):
    """The key in slot ``s`` of the highest order's table (int32 halves, low then high; -1: empty)."""
    return (np.int64(qt[s, 1]) << 32) | (np.int64(qt[s, 0]) & 0xFFFFFFFF)


@numba.njit(cache=True, nogil=True, inline="always")
def qtprobe(qt, size, key):
    """Slot of ``key`` in the highest order's table (12-byte slots: the key as two int32, then log10 p as
    float32; no back-off: its n-grams are never a context), or -1."""
    s = qhome(key, size)
    while True:
        kk = qtkey(qt, s)
        if kk == key:
            return s
        if kk < 0:
            return -1
        s += 1
        if s == size:
            s = 0


@numba.njit(cache=True, nogil=True)
def place_rows(home, size):
    """The row held by each of ``size`` slots (-1: empty) when the keys 0 .. n-1 are put in order, each at the
    first free slot from its home slot ``home[i]`` on (wrapping at the end): a compact table's layout."""
    table = np.full(size, -1, np.int64)
    for i in range(len(home)):
        s = home[i]
        while table[s] >= 0:
            s += 1
            if s == size:
                s = 0
        table[s] = i
    return table


@numba.njit(cache=True, nogil=True)
def score_lines32(ids, per_line, bos_id, eos_id, order, V, qk, qv, qt, qtv, geometry, q1):
    """Each line as a sentence (``bos_id``/``eos_id`` -1: not added), walked token by token as :func:`walk` does,
    and scored as KenLM's query does in float32 (the n-gram's log10 p, then the back-off weights from the shortest
    context up, as :func:`rows` with ``float32``): (log10 p and matched length of each prediction, predictions per
    line, float32 total per line). Over the compact float32 scoring tables (reference/arpa_walk.py's
    ``query_tables``): a slot holds the key (context slot * V + word; the word id for the context of a bigram), then log10 p and
    back-off as float32 (``qv``: the same memory as float32, columns 2 and 3); ``q1``: the unigrams' (log10 p,
    back-off) by word id; the highest order in ``qt`` (int32 (S, 3): the key's low and high halves, then log10 p
    as float32, ``qtv``) with no back-off; ``geometry``: rows first slot (in ``qk``; 0 for the highest order, in
    ``qt``), size per order. The same float32 sums, so the same output; the context of each order is kept as its
    slot."""
    starts = geometry[0]
    sizes = geometry[1]
    n_pred = len(ids) + (len(per_line) if eos_id >= 0 else 0)
    out = np.empty(n_pred, np.float32)
    length = np.empty(n_pred, np.int64)
    words = np.empty(n_pred, np.int64)
    per_sentence = np.empty(len(per_line), np.int64)
    totals = np.zeros(len(per_line), np.float32)
    ctx = np.full(max(order, 2), -1, dtype=np.int64)
    p = 0
    t = 0
    for li in range(len(per_line)):
        m = per_line[li] + (1 if eos_id >= 0 else 0)
        per_sentence[li] = m
        for j in range(order):
            ctx[j] = -1
        ctx[1] = bos_id
        total = np.float32(0.0)
        for q in range(m):
            if q < per_line[li]:
                w = ids[t]
                t += 1
            else:
                w = eos_id
            k = order
            r = -1
            while k > 1:
                c = ctx[k - 1]
                if c >= 0:
                    if k == order:
                        r = qtprobe(qt, sizes[k], c * V + w)
                    else:
                        r = qprobe(qk, starts[k], sizes[k], c * V + w)
                    if r >= 0:
                        break
                k -= 1
            if k == order and k > 1:
                x = qtv[r, 2]
            elif k > 1:
                x = qv[r, 2]
            else:
                x = q1[w, 0]
            for j in range(k + 1, order + 1):  # the contexts longer than the match, shortest first
                c = ctx[j - 1]
                if c < 0:
                    x += np.float32(0.0)
                elif j == 2:
                    x += q1[c, 1]
                else:
                    x += qv[c, 3]
            out[p] = x
            length[p] = k
            words[p] = w
            total += x
            p += 1
            for j in range(order - 1, 1, -1):
                if j >= k:
                    ctx[j] = r if j == k else -1
                else:
                    c = ctx[j - 1]
                    ctx[j] = qprobe(qk, starts[j], sizes[j], c * V + w) if c >= 0 else -1
            ctx[1] = w
        totals[li] = total
    return out, length, words, per_sentence, totals


@numba.njit(cache=True, nogil=True)
def query_insert(ids, lp, bo, k, order, V, qk, qv, qt, qtv, geometry):
    """Put the k-grams ``ids`` (m, k) of an ARPA section, with their float64 log10 p and back-off, into the compact
    scoring tables' order k (see :func:`score_lines32`; the orders below already complete; ``order``: the model's,
    whose n-grams go to ``qt`` without back-off): each context is found by probing order by order from its first
    word, the values stored as float32. 0; 1: a k-gram whose context is not in the tables; 2: a k-gram already
    there (the caller reads the file in Python, which names the line)."""
    start = geometry[0, k]
    size = geometry[1, k]
    for r in range(len(lp)):
        c = ids[r, 0]
        for j in range(1, k - 1):
            c = qprobe(qk, geometry[0, j + 1], geometry[1, j + 1], c * V + ids[r, j])
            if c < 0:
                return 1
        key = c * V + ids[r, k - 1]
        s = qhome(key, size)
        if k == order:
            while True:
                kk = qtkey(qt, s)
                if kk < 0:
                    break
                if kk == key:
                    return 2
                s += 1
                if s == size:
                    s = 0
            qt[s, 0] = np.int32(np.int64(key << 32) >> 32)
            qt[s, 1] = np.int32(key >> 32)
            qtv[s, 2] = np.float32(lp[r])
            continue
        while True:
            kk = qk[start + s, 0]
            if kk < 0:
                break
            if kk == key:
                return 2
            s += 1
            if s == size:
                s = 0
        qk[start + s, 0] = key
        qv[start + s, 2] = np.float32(lp[r])
        qv[start + s, 3] = np.float32(bo[r])
    return 0


@numba.njit(cache=True, nogil=True, inline="always")
def _other_space(text, i, n):
    """Whether the UTF-8 bytes at ``text[i]`` start a character str.split() treats as whitespace beyond ASCII
    (U+0085, U+00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000)."""
    c = text[i]
    n1 = text[i + 1] if i + 1 < n else 0
    n2 = text[i + 2] if i + 2 < n else 0
    if c == 0xC2:
        return n1 == 0x85 or n1 == 0xA0
    if c == 0xE1:
        return n1 == 0x9A and n2 == 0x80
    if c == 0xE2:
        return (n1 == 0x80 and (n2 <= 0x8A or n2 == 0xA8 or n2 == 0xA9 or n2 == 0xAF)) or (n1 == 0x81 and n2 == 0x9F)
    if c == 0xE3:
        return n1 == 0x80 and n2 == 0x80
    return False


@numba.njit(cache=True, nogil=True)
def sentence_total(text, bos_id, eos_id, meta, vtable, pairs, lp, bo):
    """``BackoffModel.score_sentence`` of one sentence's UTF-8 bytes (``bytes``) in one call: its tokens (split on
    ASCII whitespace, as str.split() splits ASCII text), their ids (``vtable``: the vocabulary's hash table of
    packed words as :func:`text_ids` probes it, holding (packed key, word id); ``<unk>`` for a word not in it),
    then ``eos_id`` (-1: none), walked by :func:`walk` after ``bos_id`` (-1: none). ``meta``: order, V, the id of
    ``<unk>``, the vocabulary table's mask and shift, then :func:`walk`'s starts, masks, shifts, lp_off, bo_off
    (order + 1 each). (total log10 p, 0), or (0.0, 1) where the bytes hold what this does not take (a token of
    more than 8 bytes, a NUL byte, whitespace beyond ASCII's): the caller's general path scores those."""
    order = meta[0]
    V = meta[1]
    unk = meta[2]
    vmask = meta[3]
    vshift = meta[4]
    m = order + 1
    n = len(text)
    ids = np.empty(n // 2 + 2, np.int64)
    t = 0
    i = 0
    while i < n:
        c = text[i]
        if c == 32 or (9 <= c <= 13) or (28 <= c <= 31):
            i += 1
            continue
        a = i
        key = np.uint64(0)
        while i < n:
            c = text[i]
            if c == 32 or (9 <= c <= 13) or (28 <= c <= 31):
                break
            if c == 0 or i - a >= 8:
                return 0.0, 1
            if 0xC2 <= c <= 0xE3 and _other_space(text, i, n):
                return 0.0, 1
            key = key | (np.uint64(c) << np.uint64(8 * (7 - (i - a))))
            i += 1
        k = np.int64(key)
        s = np.int64((np.uint64(k) * np.uint64(_MULT)) >> np.uint64(vshift))
        w = unk
        while True:
            kk = vtable[s, 0]
            if kk == k and vtable[s, 1] >= 0:
                w = vtable[s, 1]
                break
            if vtable[s, 1] < 0:
                break
            s = (s + 1) & vmask
        ids[t] = w
        t += 1
    if eos_id >= 0:
        ids[t] = eos_id
        t += 1
    return walk(ids[:t], bos_id, order, V, pairs, meta[5: 5 + m], meta[5 + m: 5 + 2 * m], meta[5 + 2 * m: 5 + 3 * m],
                lp, meta[5 + 3 * m: 5 + 4 * m], bo, meta[5 + 4 * m: 5 + 5 * m]), 0


# -- the ARPA writer ----------------------------------------------------------------------------------------

_POW10_FROM_M4 = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0])


@numba.njit(cache=True, nogil=True, inline="always")
def _g9_parts(x):
    """(ok, integer part, fraction digits, decimal places) of ``'%.9g' % x`` in fixed notation: the arithmetic of
    reference/arpa.py's vectorised ``_format_numbers``; ok False where that leaves the value to Python (|x|
    outside [1e-4, 999.9999), a 9th digit within 1e-6 of a rounding tie)."""
    v = abs(x)
    if x == 0:
        return True, 0, 0, 0
    if not (v >= 1e-4 and v < 999.9999):
        return False, 0, 0, 0
    X = -5
    for j in range(7):
        if v >= _POW10_FROM_M4[j]:
            X += 1
    d = 8 - X
    scaled = v * _POW10[d]
    m = np.rint(scaled)
    if m >= 1e9:
        d -= 1
        scaled = v * _POW10[d]
        m = np.rint(scaled)
    if not (abs(scaled - np.floor(scaled) - 0.5) > 1e-6 and d >= 6 and d <= 12):
        return False, 0, 0, 0
    mi = np.int64(m)
    p = np.int64(_POW10[d])
    return True, mi // p, mi % p, d


@numba.njit(cache=True, nogil=True)
def g9_undecided(values):
    """Which values :func:`_g9_parts` leaves to Python's ``'%.9g'``."""
    out = np.empty(len(values), np.bool_)
    for i in range(len(values)):
        out[i] = not _g9_parts(values[i])[0]
    return out


@numba.njit(cache=True, nogil=True, inline="always")
def put_g9(out, o, x):
    """Write ``'%.9g' % x`` (fixed notation; the caller checked :func:`g9_undecided`)."""
    ok, ip, frac, d = _g9_parts(x)
    if x < 0 or (x == 0 and np.signbit(x)):
        out[o] = 45
        o += 1
    o = put_int(out, o, ip)
    if frac:
        nd = d
        while frac % 10 == 0:
            frac //= 10
            nd -= 1
        out[o] = 46
        o += 1
        for j in range(nd - 1, -1, -1):
            out[o + j] = 48 + frac % 10
            frac //= 10
        o += nd
    return o


@numba.njit(cache=True, nogil=True)
def arpa_lines(grams, lp, bo, with_bo, pool, voff, vlen, lp_fb, bo_fb, fb_pool, fb_off, size):
    """The ARPA lines ``log10p<TAB>w1 .. wk[<TAB>backoff]<NL>`` of the n-grams ``grams`` (word ids, one row
    each): numbers as :func:`put_g9`, or from ``fb_pool`` where ``lp_fb``/``bo_fb`` >= 0 (Python's '%.9g'),
    words from the byte ``pool``."""
    out = np.empty(size, np.uint8)
    o = 0
    m, k = grams.shape
    for i in range(m):
        f = lp_fb[i]
        if f >= 0:
            o = put_bytes(out, o, fb_pool, fb_off[f], fb_off[f + 1])
        else:
            o = put_g9(out, o, lp[i])
        out[o] = 9
        o += 1
        for j in range(k):
            w = grams[i, j]
            o = put_bytes(out, o, pool, voff[w], voff[w] + vlen[w])
            out[o] = 32
            o += 1
        o -= 1
        if with_bo:
            out[o] = 9
            o += 1
            f = bo_fb[i]
            if f >= 0:
                o = put_bytes(out, o, fb_pool, fb_off[f], fb_off[f + 1])
            else:
                o = put_g9(out, o, bo[i])
        out[o] = 10
        o += 1
    return out[:o]


# -- reading a corpus: tokens to ids through a hash table of byte strings ------------------------------------

_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@numba.njit(cache=True, nogil=True, inline="always")
def _is_space(c):
    return c == 32 or (9 <= c <= 13) or (28 <= c <= 31)


@numba.njit(cache=True, nogil=True, inline="always")
def _fnv(buf, a, b):
    h = _FNV_OFFSET
    for i in range(a, b):
        h = (h ^ np.uint64(buf[i])) * _FNV_PRIME
    return h


@numba.njit(cache=True, nogil=True, inline="always")
def _slot(h, mask):
    """The table slot of hash ``h``: the high bits of a multiplicative scramble (FNV's low bits cluster)."""
    bits = 0
    while (np.int64(1) << bits) <= mask:
        bits += 1
    return np.int64((h * np.uint64(_MULT)) >> np.uint64(64 - bits))


@numba.njit(cache=True, nogil=True, inline="always")
def _probe_word(buf, a, b, table, mask, wstart, wlen, wpool):
    """(slot, id) of the word ``buf[a:b]`` in the table (slot -> id, bytes compared with the pool); id -1: not
    there, and the slot is the free one where it would go."""
    s = _slot(_fnv(buf, a, b), mask)
    L = b - a
    while True:
        wid = table[s]
        if wid < 0:
            return s, -1
        if wlen[wid] == L:
            st = wstart[wid]
            same = True
            for j in range(L):
                if wpool[st + j] != buf[a + j]:
                    same = False
                    break
            if same:
                return s, wid
        s = (s + 1) & mask


@numba.njit(cache=True, nogil=True, inline="always")
def _find_or_add(buf, a, b, table, mask, wstart, wlen, wpool, n_words, pool_used):
    """(id, whether new) of the word ``buf[a:b]``: probe the table (slot -> id), compare bytes with the pool."""
    s, wid = _probe_word(buf, a, b, table, mask, wstart, wlen, wpool)
    if wid >= 0:
        return wid, False
    L = b - a
    table[s] = n_words
    wstart[n_words] = pool_used
    wlen[n_words] = L
    for j in range(L):
        wpool[pool_used + j] = buf[a + j]
    return n_words, True


@numba.njit(cache=True, nogil=True)
def _rehash(table, wstart, wlen, wpool, n_words):
    new = np.full(len(table) * 2, -1, np.int64)
    mask = len(new) - 1
    for wid in range(n_words):
        s = _slot(_fnv(wpool, wstart[wid], wstart[wid] + wlen[wid]), mask)
        while new[s] >= 0:
            s = (s + 1) & mask
        new[s] = wid
    return new


@numba.njit(cache=True, nogil=True)
def _encode_run(buf, i, ids, t, per_line, line, table, wstart, wlen, wpool, n_words, pool_used, max_words):
    """:func:`encode_text`'s loop from byte ``i`` until the end or until ``max_words`` words are known (then it
    stops before the next token, for the caller to grow the arrays): no array is reassigned inside."""
    n = len(buf)
    mask = len(table) - 1
    while i < n:
        c = buf[i]
        if c == 10:
            line += 1
            i += 1
            continue
        if _is_space(c):
            i += 1
            continue
        if n_words >= max_words:
            break
        a = i
        while i < n and not _is_space(buf[i]):
            i += 1
        wid, new = _find_or_add(buf, a, i, table, mask, wstart, wlen, wpool, n_words, pool_used)
        if new:
            n_words += 1
            pool_used += i - a
        ids[t] = wid
        t += 1
        per_line[line] += 1
    return i, t, line, n_words, pool_used


@numba.njit(cache=True, nogil=True)
def encode_text(buf, n_lines, table, wstart, wlen, wpool, n_words, pool_used):
    """Ids of the tokens of ``buf`` (lines end at 10; tokens split on ASCII whitespace: the caller checked there is
    no other whitespace nor NUL), new words numbered from ``n_words`` in order of first appearance and their
    bytes appended to ``wpool``. Returns (ids int32, tokens per line, table, wstart, wlen, wpool, n_words,
    pool_used): the arrays grown where needed (the caller keeps the returned ones)."""
    n = len(buf)
    ids = np.empty(n // 2 + 1, np.int32)
    per_line = np.zeros(n_lines, np.int64)
    if len(wpool) < pool_used + n:
        grown = np.empty(max(2 * len(wpool), pool_used + n), np.uint8)
        grown[:pool_used] = wpool[:pool_used]
        wpool = grown
    i = np.int64(0)  # not the literal 0: a literal argument would compile _encode_run a second time
    t = np.int64(0)
    line = np.int64(0)
    while True:
        max_words = min(len(table) // 2 - 1, len(wstart))
        i, t, line, n_words, pool_used = _encode_run(buf, i, ids, t, per_line, line, table, wstart, wlen, wpool,
                                                     n_words, pool_used, max_words)
        if i >= n:
            break
        if n_words >= len(table) // 2 - 1:
            table = _rehash(table, wstart, wlen, wpool, n_words)
        if n_words >= len(wstart):
            ws = np.empty(2 * len(wstart), np.int64)
            ws[:n_words] = wstart[:n_words]
            wl = np.empty(2 * len(wlen), np.int64)
            wl[:n_words] = wlen[:n_words]
            wstart, wlen = ws, wl
    return ids[:t].copy(), per_line, table, wstart, wlen, wpool, n_words, pool_used  # not a view of n/2 slots


@numba.njit(cache=True, nogil=True)
def kgram_keys(stream, k, V):
    """``w1 V^(k-1) + ... + wk`` of every k-gram of ``stream`` that does not run past a ``</s>`` (id 2) before its
    last word, in stream order (the caller checked V^k < 2^63)."""
    n = len(stream) - k + 1
    out = np.empty(max(n, 0), np.int64)
    c = 0
    for i in range(n):
        key = np.int64(0)
        ok = True
        for j in range(k):
            w = stream[i + j]
            if j < k - 1 and w == 2:
                ok = False
                break
            key = key * V + w
        if ok:
            out[c] = key
            c += 1
    return out[:c]


@numba.njit(cache=True, nogil=True, inline="always")
def _radix_passes(cur, perm, nxt, pnx, top):
    """The passes of :func:`radix_argsort` and :func:`radix_argsort_inplace`: 11 bits of the keys a pass, least
    significant first, each pass moving keys and permutation stably from (cur, perm) to (nxt, pnx) and then
    swapping the buffers; as many passes as ``top`` (the largest key) needs. Returns (keys sorted, permutation)."""
    n = len(cur)
    count = np.empty(2049, np.int64)
    shift = 0
    while (top >> shift) > 0:
        count[:] = 0
        for i in range(n):
            count[((cur[i] >> shift) & 2047) + 1] += 1
        for d in range(2048):
            count[d + 1] += count[d]
        for i in range(n):
            d = (cur[i] >> shift) & 2047
            j = count[d]
            count[d] = j + 1
            nxt[j] = cur[i]
            pnx[j] = perm[i]
        cur, nxt = nxt, cur
        perm, pnx = pnx, perm
        shift += 11
    return cur, perm


@numba.njit(cache=True, nogil=True)
def radix_argsort(keys):
    """(keys sorted, the stable permutation that sorts them) of non-negative int64 ``keys``: least significant
    digit first, 11 bits a pass (a histogram of 2,048 counts stays in cache), as many passes as the largest
    key needs. NumPy's argsort of int64 is a comparison sort where the CPU lacks AVX-512."""
    n = len(keys)
    cur = keys.copy()
    perm = np.arange(n)
    top = np.int64(0)
    for i in range(n):
        if cur[i] > top:
            top = cur[i]
    return _radix_passes(cur, perm, np.empty(n, np.int64), np.empty(n, np.int64), top)


@numba.njit(cache=True, nogil=True)
def radix_argsort_inplace(keys):
    """:func:`radix_argsort` with less memory, for fewer than 2^31 keys: ``keys`` (non-negative int64, the caller's
    own) is one of the two key buffers the passes move between, so its contents are left scrambled, and the
    permutation is int32. 24 bytes a key at the peak instead of 40. Returns (keys sorted, permutation); the
    sorted keys are ``keys`` itself or the second buffer, depending on the number of passes."""
    n = len(keys)
    cur = keys
    perm = np.empty(n, np.int32)
    top = np.int64(0)
    for i in range(n):
        perm[i] = i
        if cur[i] > top:
            top = cur[i]
    return _radix_passes(cur, perm, np.empty(n, np.int64), np.empty(n, np.int32), top)


@numba.njit(cache=True, nogil=True)
def sorted_runs(keys):
    """(the distinct values of the sorted ``keys``, how often each occurs), in one pass."""
    n = len(keys)
    m = 0
    for i in range(n):
        if i == 0 or keys[i] != keys[i - 1]:
            m += 1
    uniq = np.empty(m, np.int64)
    count = np.empty(m, np.int64)
    j = -1
    for i in range(n):
        if i == 0 or keys[i] != keys[i - 1]:
            j += 1
            uniq[j] = keys[i]
            count[j] = 0
        count[j] += 1
    return uniq, count


# -- the scorer's hash tables -----------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def hash_rows(slot, size):
    """The row held by each of ``size`` slots (-1: empty) when the keys 0 .. n-1, each starting at its home slot
    ``slot[i]``, are placed as reference/arpa.py's ``_HashIndex`` places them: in rounds, each round taking
    the pending keys in order, a key taking its slot if it is free and moving to the next slot otherwise (so the
    same table as those whole-array rounds, without a sort per round)."""
    n = len(slot)
    table = np.full(size, -1, np.int64)
    s = slot.copy()
    pending = np.arange(n)
    m = n
    mask = size - 1
    while m > 0:
        kept = 0
        for t in range(m):
            i = pending[t]
            if table[s[i]] < 0:
                table[s[i]] = i
            else:
                s[i] = (s[i] + 1) & mask
                pending[kept] = i
                kept += 1
        m = kept
    return table


# -- reading an ARPA file -------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def arpa_marks(buf):
    """Byte offsets of the lines whose first byte other than ASCII whitespace is a backslash (``\\data\\``,
    ``\\k-grams:``, ``\\end\\``)."""
    n = len(buf)
    out = np.empty(64, np.int64)
    m = 0
    i = 0
    while i < n:
        a = i
        while i < n and buf[i] != 10 and _is_space(buf[i]):
            i += 1
        if i < n and buf[i] == 92:
            if m == len(out):
                grown = np.empty(2 * m, np.int64)
                grown[:m] = out
                out = grown
            out[m] = a
            m += 1
        while i < n and buf[i] != 10:
            i += 1
        i += 1
    return out[:m].copy()


@numba.njit(cache=True, nogil=True, inline="always")
def _parse_decimal(buf, a, b):
    """(ok, value) of the number ``buf[a:b]`` where it is a plain decimal (sign, digits, a point, an exponent) of
    at most 15 significant digits and a power of ten of at most 22: the integer of its digits then scales by one
    exact power of ten in one correctly rounded operation (Clinger's fast path), so the value is Python's
    ``float()`` of the text. Anything else (inf, more digits, underscores, ...): ok False, left to Python."""
    i = a
    neg = False
    if i < b and (buf[i] == 45 or buf[i] == 43):
        neg = buf[i] == 45
        i += 1
    m = np.int64(0)
    nd = 0  # significant digits taken into m
    e10 = 0
    seen = False
    point = False
    while i < b:
        c = buf[i]
        if 48 <= c <= 57:
            seen = True
            if m > 0 or c != 48:
                if nd == 15:
                    return False, 0.0
                m = m * 10 + (c - 48)
                nd += 1
            if point:
                e10 -= 1
        elif c == 46 and not point:
            point = True
        else:
            break
        i += 1
    if not seen:
        return False, 0.0
    if i < b:
        if buf[i] != 101 and buf[i] != 69:
            return False, 0.0
        i += 1
        eneg = False
        if i < b and (buf[i] == 45 or buf[i] == 43):
            eneg = buf[i] == 45
            i += 1
        if i == b:
            return False, 0.0
        x = 0
        while i < b:
            c = buf[i]
            if not (48 <= c <= 57) or x > 1000:
                return False, 0.0
            x = x * 10 + (c - 48)
            i += 1
        e10 += -x if eneg else x
    if m == 0:
        v = 0.0
    elif e10 >= 0:
        if e10 > 22:
            return False, 0.0
        v = np.float64(m) * _POW10[e10]
    else:
        if e10 < -22:
            return False, 0.0
        v = np.float64(m) / _POW10[-e10]
    return True, -v if neg else v


@numba.njit(cache=True, nogil=True)
def arpa_section(buf, a, b, k, table, wstart, wlen, wpool, n_words, pool_used, add):
    """The n-gram lines of one ``\\k-grams:`` section, ``buf[a:b]`` (blank lines skipped): log10 p, back-off weight
    (0 where absent), the word ids (k per line: looked up in the table of the unigrams' bytes, or with ``add``
    numbered in order as they come: the unigram section), whether each number was left to Python
    (:func:`_parse_decimal`), each line's byte range, a status (0; 1: a line with a field count other than
    k + 1 or k + 2, a word not among the unigrams, a unigram twice or more words than the arrays hold: the
    caller reads the file in Python, which names the line), n_words, pool_used."""
    cap = 1  # the lines of the section: an upper bound of its n-grams
    for i in range(a, b):
        if buf[i] == 10:
            cap += 1
    lp = np.empty(cap, np.float64)
    bo = np.empty(cap, np.float64)
    ids = np.empty((cap, k), np.int64)
    lp_py = np.empty(cap, np.bool_)
    bo_py = np.empty(cap, np.bool_)
    starts = np.empty(cap, np.int64)
    ends = np.empty(cap, np.int64)
    mask = len(table) - 1
    f_start = np.empty(k + 3, np.int64)
    f_end = np.empty(k + 3, np.int64)
    m = 0
    i = a
    while i < b:
        ls = i
        nf = 0
        while True:  # the fields of the line
            while i < b and buf[i] != 10 and _is_space(buf[i]):
                i += 1
            if i >= b or buf[i] == 10:
                break
            fs = i
            while i < b and not _is_space(buf[i]):
                i += 1
            if nf < k + 3:
                f_start[nf] = fs
                f_end[nf] = i
            nf += 1
        le = i
        i += 1
        if nf == 0:
            continue
        if nf != k + 1 and nf != k + 2:
            return lp[:0], bo[:0], ids[:0], lp_py[:0], bo_py[:0], starts[:0], ends[:0], 1, n_words, pool_used
        ok, v = _parse_decimal(buf, f_start[0], f_end[0])
        lp[m] = v
        lp_py[m] = not ok
        if nf == k + 2:
            ok, v = _parse_decimal(buf, f_start[k + 1], f_end[k + 1])
            bo[m] = v
            bo_py[m] = not ok
        else:
            bo[m] = 0.0
            bo_py[m] = False
        for j in range(k):
            if add:
                if n_words >= len(wstart) or n_words >= len(table) // 2:
                    return lp[:0], bo[:0], ids[:0], lp_py[:0], bo_py[:0], starts[:0], ends[:0], 1, n_words, pool_used
                wid, new = _find_or_add(buf, f_start[j + 1], f_end[j + 1], table, mask, wstart, wlen, wpool, n_words,
                                        pool_used)
                if not new:
                    return lp[:0], bo[:0], ids[:0], lp_py[:0], bo_py[:0], starts[:0], ends[:0], 1, n_words, pool_used
                n_words += 1
                pool_used += f_end[j + 1] - f_start[j + 1]
            else:
                wid = _probe_word(buf, f_start[j + 1], f_end[j + 1], table, mask, wstart, wlen, wpool)[1]
                if wid < 0:
                    return lp[:0], bo[:0], ids[:0], lp_py[:0], bo_py[:0], starts[:0], ends[:0], 1, n_words, pool_used
            ids[m, j] = wid
        starts[m] = ls
        ends[m] = le
        m += 1
    return lp[:m], bo[:m], ids[:m], lp_py[:m], bo_py[:m], starts[:m], ends[:m], 0, n_words, pool_used
