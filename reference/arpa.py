"""ARPA back-off language models: reader, writer and a vectorised scorer.

This is format I/O, not an equation of the course. The standard ARPA file
(as written by SRILM, KenLM's ``lmplz`` and others) is::

    \\data\\
    ngram 1=<count>
    ...
    \\1-grams:
    <log10 p>\\t<w>\\t<log10 back-off>
    ...
    \\N-grams:
    <log10 p>\\t<w1 ... wN>
    \\end\\

and it is read by back-off: ``log10 p(w | h)`` is the stored value of the
longest n-gram ``h' w`` (``h'`` a suffix of ``h``) in the file, plus the
back-off weights of every context longer than ``h'`` that is in the file.

Internally an n-gram of order k is an integer key, ``rank of its first k-1
words among the (k-1)-grams * V + id of its last word``; the keys of each
order are sorted, so a lookup is a chain of ``np.searchsorted`` calls and
works for any order and vocabulary size without int64 overflow.
"""

from __future__ import annotations

import gc
import os
import re
from dataclasses import dataclass, field
from itertools import chain, repeat
from typing import Iterable, Sequence

import numpy as np

BOS, EOS, UNK = "<s>", "</s>", "<unk>"

#: how log10 0 as a back-off weight is written in an ARPA file (a zero probability is written -inf)
LOG10_ZERO = -99.0

__all__ = ["BOS", "EOS", "UNK", "ArpaError", "BackoffModel", "read_arpa", "write_arpa", "read_model"]


def read_model(path, verify: bool = False) -> "BackoffModel":
    """A model from a binary model file or an ARPA file, chosen by the first bytes (reference/arpa_binary.py)."""
    from reference.arpa_binary import read_model as _read_model

    return _read_model(path, verify=verify)


#: a model of this many n-grams is written by the compiled writer (loading it, about 0.1 s, then pays)
_COMPILED_WRITE_AT = 1 << 16
#: n-grams per block of the compiled writer: a block's words, numbers and line buffer (about 100 bytes a 5-gram)
#: are its temporaries, a few tens of MiB at this size
_WRITE_BLOCK = 1 << 18

#: an ARPA file of this many bytes is read by the compiled reader (reference/_arpa_jit.py's arpa_section)
_COMPILED_READ_AT = 1 << 20

#: an order of this many n-grams gets its scoring hash table from the compiled loop (hash_rows)
_COMPILED_HASH_AT = 1 << 16

#: a batch of this many n-grams loads the compiled scorer (its ~1 s load is then less than what it saves)
_COMPILE_AT_ROWS = 2_000_000


class ArpaError(ValueError):
    """A malformed ARPA file; the message names the file and line."""


#: the bytes str.split() treats as whitespace in ASCII (\t \n \v \f \r, \x1c-\x1f, space)
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True
_PACK = 8  # tokens of up to 8 UTF-8 bytes are packed into one uint64 key, exactly


def _has_other_whitespace(b: np.ndarray) -> bool:
    """Whether the bytes may hold a character that str.split() treats as whitespace beyond ASCII
    (U+0085, U+00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F, U+205F, U+3000) or a NUL byte."""
    if not len(b):
        return False
    if not (b >= 0xC2).any():  # pure ASCII (or without the lead bytes of those characters)
        return bool((b == 0).any())
    if (b == 0).any():
        return True
    bb = np.append(b, [0, 0])
    lead = np.flatnonzero((b >= 0xC2) & (b <= 0xE3))
    c, n1, n2 = bb[lead], bb[lead + 1], bb[lead + 2]
    c2 = (c == 0xC2) & ((n1 == 0x85) | (n1 == 0xA0))
    e1 = (c == 0xE1) & (n1 == 0x9A) & (n2 == 0x80)
    e2 = (c == 0xE2) & (((n1 == 0x80) & ((n2 <= 0x8A) | (n2 == 0xA8) | (n2 == 0xA9) | (n2 == 0xAF)))
                       | ((n1 == 0x81) & (n2 == 0x9F)))
    e3 = (c == 0xE3) & (n1 == 0x80) & (n2 == 0x80)
    return bool((c2 | e1 | e2 | e3).any())


def _pack(words: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(w.ljust(_PACK, b"\0") for w in words), dtype=">u8").astype(np.uint64)


def _tokenize(b: np.ndarray, n_lines: int):
    """Tokens of UTF-8 text split on ASCII whitespace (the caller checked _has_other_whitespace):
    (starts, ends, tokens per line, indices of the tokens of at most 8 bytes, their packed keys: the
    bytes big-endian in a uint64, zero-padded; exact since no NUL byte occurs)."""
    ws = np.take(_ASCII_SPACE, b)
    inside = ~ws
    starts = np.flatnonzero(inside & np.concatenate([[True], ws[:-1]]))
    ends = np.flatnonzero(inside & np.concatenate([ws[1:], [True]]))
    ends += 1
    del ws, inside
    newlines = np.flatnonzero(b == 10)
    lens = np.bincount(np.searchsorted(newlines, starts), minlength=n_lines)
    tl = ends - starts
    short = np.flatnonzero(tl <= _PACK)
    s = starts[short]
    cols = np.arange(_PACK)
    idx = s[:, None] + cols
    np.minimum(idx, max(len(b) - 1, 0), out=idx)
    mat = np.take(b, idx) if len(b) else np.zeros((0, _PACK), np.uint8)
    mat[cols >= tl[short][:, None]] = 0
    keys = mat.view(">u8").ravel().astype(np.uint64)
    return starts, ends, lens, short, keys


def _packed_index(words: list[str]):
    """(hash index of the packed keys of the words of up to 8 bytes, their word ids)."""
    enc = [w.encode("utf-8") for w in words]
    fits = np.array([len(e) <= _PACK and b"\0" not in e for e in enc], dtype=bool)
    packed = _pack([e for e, f in zip(enc, fits) if f]).view(np.int64)
    order = np.argsort(packed)
    return _HashIndex(packed[order]), np.flatnonzero(fits)[order]


def _packed_index_of_pool(pool: np.ndarray, wstart: np.ndarray, wlen: np.ndarray):
    """:func:`_packed_index` of the words ``pool[wstart[i]: wstart[i] + wlen[i]]`` (UTF-8 bytes), without making
    them strings."""
    n = len(wstart)
    cols = np.arange(_PACK)
    idx = np.minimum(wstart[:, None] + cols, max(len(pool) - 1, 0))
    mat = np.take(pool, idx) if len(pool) else np.zeros((n, _PACK), np.uint8)
    del idx
    inside = cols < wlen[:, None]
    nul = ((mat == 0) & inside).any(axis=1)
    mat[~inside] = 0
    fits = np.flatnonzero((wlen <= _PACK) & ~nul)
    packed = np.ascontiguousarray(mat[fits]).view(">u8").ravel().astype(np.uint64).view(np.int64)
    order = np.argsort(packed)
    return _HashIndex(packed[order]), fits[order]


@dataclass
class BackoffModel:
    """An n-gram back-off model: vocabulary and, per order, sorted keys with log10 p and log10 back-off.

    ``keys[k-1]``, ``logprob[k-1]``, ``backoff[k-1]`` describe the k-grams. The unigram
    keys are the word ids ``0 .. V-1`` (every vocabulary word is a unigram).
    """

    words: list[str]
    keys: list[np.ndarray]
    logprob: list[np.ndarray]
    backoff: list[np.ndarray]
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.index:
            self.index = {w: i for i, w in enumerate(self.words)}
        if UNK not in self.index:
            raise ArpaError(f"the model's vocabulary has no {UNK} word")
        V = len(self.words)
        if len(self.keys[0]) != V or not np.array_equal(self.keys[0], np.arange(V)):
            raise ArpaError("unigram keys must be the word ids 0..V-1")

    # -- structure ------------------------------------------------------------
    @property
    def order(self) -> int:
        return len(self.keys)

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    def counts(self) -> list[int]:
        return [len(k) for k in self.keys]

    def ids(self, tokens: Sequence[str]) -> np.ndarray:
        """Word ids; unknown words map to ``<unk>``."""
        return np.fromiter(map(self.index.get, tokens, repeat(self.index[UNK])), dtype=np.int64, count=len(tokens))

    def lookup(self, grams: np.ndarray) -> np.ndarray:
        """Row index of each k-gram (rows of ``grams``, word ids) in its order's table, or -1."""
        grams = np.asarray(grams, dtype=np.int64)
        if grams.ndim != 2 or not 1 <= grams.shape[1] <= self.order:
            raise ValueError(f"grams must be an (n, k) id array with 1 <= k <= {self.order}, got shape {grams.shape}")
        V = self.vocab_size
        rank = np.where((grams[:, 0] >= 0) & (grams[:, 0] < V), grams[:, 0], -1)
        for j in range(1, grams.shape[1]):
            rank = self._extend(j + 1, rank, grams[:, j])
        return rank

    def entries(self, k: int) -> np.ndarray:
        """All k-grams of the model as an (n_k, k) array of word ids, in key order."""
        grams = np.arange(self.vocab_size, dtype=np.int64)[:, None]
        for j in range(1, k):
            key = self.keys[j]
            grams = np.concatenate([grams[key // self.vocab_size], (key % self.vocab_size)[:, None]], axis=1)
        return grams

    # -- scoring --------------------------------------------------------------
    def score_ngrams(self, histories: np.ndarray, words: np.ndarray, return_length: bool = False,
                     float32: bool = False):
        """log10 p(w | h) by back-off for each row: ``histories`` (n, N-1) ids (-1 = none), ``words`` (n,).

        ``histories[:, -1]`` is the word right before ``w``. A -1 entry means
        "no word there" (the history is shorter, e.g. at a sentence start). With
        ``return_length``, also the length of the longest n-gram matched (KenLM's
        ``ngram_length``). With ``float32``, the stored values are rounded to float32 and added in
        float32 in KenLM's order (the n-gram's log10 p, then the back-off weights from the shortest
        context up), so that the result is KenLM's bit for bit.
        """
        words = np.asarray(words, dtype=np.int64)
        n = len(words)
        if n == 0:  # nothing to predict (an empty sentence without </s>)
            empty = np.zeros(0, dtype=np.float32 if float32 else np.float64)
            return (empty, np.zeros(0, dtype=np.int64)) if return_length else empty
        h = np.asarray(histories, dtype=np.int64).reshape(n, -1)
        N = self.order
        if h.shape[1] < N - 1:
            h = np.concatenate([np.full((n, N - 1 - h.shape[1]), -1, dtype=np.int64), h], axis=1)
        h = h[:, h.shape[1] - (N - 1):] if N > 1 else h[:, :0]
        V = self.vocab_size
        if words.min() < 0 or words.max() >= V:
            raise ValueError(f"words must be word ids in 0..{V - 1}, got {words.min()}..{words.max()}")
        if h.size and (h.min() < -1 or h.max() >= V):
            raise ValueError(f"histories must be word ids in 0..{V - 1} or -1 (no word), got {h.min()}..{h.max()}")
        # the fast extra: the rows one by one in machine code (reference/arpa_walk.py). Loading it costs about
        # 1 s (Numba, the hash tables), which saves ~0.14 µs per n-gram: used once loaded (score_sentence
        # loads it), or for a batch large enough to repay the load
        compiled = self._compiled_walk() if "_walk" in self.__dict__ or n >= _COMPILE_AT_ROWS else None
        if compiled is not None:
            (_, rows), arrays = compiled
            out, length = rows(np.ascontiguousarray(h), words, N, self.vocab_size, *arrays, float32)
            out = out.astype(np.float32) if float32 else out
            return (out, length) if return_length else out
        return self._score_arrays(h, words, return_length, float32)

    def _score_arrays(self, h: np.ndarray, words: np.ndarray, return_length: bool, float32: bool):
        """:meth:`score_ngrams` with whole-array operations (without Numba); ``h`` has ``order - 1`` columns."""
        n, N = len(words), self.order
        # longest matching n-gram ending in w, and the back-off weights of longer contexts
        result = self.logprob[0][words].astype(np.float64)
        length = np.ones(n, dtype=np.int64)
        bow_sum = np.zeros(n)
        matched = np.ones(n, dtype=bool)  # the current order k still matches
        bows = []
        # rows that continue the previous row (as in a text): their context of k-1 words is the previous
        # row's (k-1)-gram, already looked up
        follows = np.zeros(n, dtype=bool)
        if N > 2 and n > 1:
            follows[1:] = (h[1:, -1] == words[:-1]) & (h[1:, :-1] == h[:-1, 1:]).all(axis=1)
        after = np.flatnonzero(follows)
        rest = np.flatnonzero(~follows)
        gram_idx = None
        for k in range(2, N + 1):
            if k == 2 or not len(after):
                ctx_idx = self.lookup(h[:, N - k:])  # the last k-1 history words (-1 anywhere: not found)
            else:
                ctx_idx = np.empty(n, dtype=np.int64)
                ctx_idx[after] = gram_idx[after - 1]
                ctx_idx[rest] = self.lookup(h[rest, N - k:])
            gram_idx = self._extend(k, ctx_idx, words)
            found = matched & (gram_idx >= 0)
            # contexts present but w not found after them: back-off weight applies
            bo_table, lp_table = self.backoff[k - 2], self.logprob[k - 1]
            bow = np.where(ctx_idx >= 0, bo_table[np.maximum(ctx_idx, 0)], 0.0) if len(bo_table) else np.zeros(n)
            bows.append(bow)
            # reset the bow sum where a longer gram matches; otherwise accumulate
            bow_sum = np.where(found, 0.0, bow_sum + bow)
            if len(lp_table):
                result = np.where(found, lp_table[np.maximum(gram_idx, 0)], result)
            length = np.where(found, k, length)
            matched = found
        if float32:
            out = result.astype(np.float32)
            for k, bow in enumerate(bows, start=2):  # the context of the k-grams has k-1 words
                out = np.where(k > length, out + bow.astype(np.float32), out)
        else:
            out = result + bow_sum
        return (out, length) if return_length else out

    def _extend(self, k: int, ctx_idx: np.ndarray, words: np.ndarray) -> np.ndarray:
        """Row of the k-gram (context row ``ctx_idx`` among the (k-1)-grams, then ``words``), or -1."""
        keys = self.keys[k - 1]
        if len(keys) == 0:
            return np.full(len(words), -1, dtype=np.int64)
        key = ctx_idx * self.vocab_size + words
        if len(key) >= 256:  # a batch: hash probes, about one random memory access each
            pos = _HashIndex.of(self, k).find(key)
            return np.where((ctx_idx >= 0) & (words >= 0), pos, -1)
        pos = np.searchsorted(keys, key)
        np.minimum(pos, len(keys) - 1, out=pos)
        return np.where((ctx_idx >= 0) & (words >= 0) & (keys[pos] == key), pos, -1)

    def sentence_ngrams(self, sentences: Iterable[str | Sequence[str]], bos: bool = True, eos: bool = True,
                        return_sentences: bool = False):
        """(histories, words) arrays for every predicted token of the sentences (the ``</s>`` included).

        With ``return_sentences``, also the number of predictions of each sentence and the tokens
        (strings) in order. Vectorised over the whole batch: one dictionary lookup per token.
        """
        sentences = sentences if isinstance(sentences, list) else list(sentences)
        fast = None if return_sentences else self._ids_of_lines(sentences)
        if fast is not None:
            ids, n = fast
        else:
            split = [s.split() if isinstance(s, str) else list(s) for s in sentences]
            n = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
            tokens = list(chain.from_iterable(split))
            del split
            ids = self.ids(tokens)
        hist, words, per_sentence = self._ngrams_of_ids(ids, n, bos, eos)
        if return_sentences:
            return hist, words, per_sentence, tokens
        return hist, words

    def _ngrams_of_ids(self, ids: np.ndarray, n: np.ndarray, bos: bool, eos: bool):
        """(histories, words, predictions per sentence) from the ids of all tokens and the tokens per sentence."""
        N = self.order
        # one row per sentence: [<s> or -1] w1 .. wn [</s>]; predictions are every element but the first
        seg = n + 1 + int(eos)
        ends = np.cumsum(seg)
        starts = ends - seg
        total = int(ends[-1]) if len(seg) else 0
        seq = np.empty(total, dtype=np.int64)
        first = np.zeros(total, dtype=bool)
        first[starts] = True
        if eos:
            last = np.zeros(total, dtype=bool)
            last[ends - 1] = True
            seq[last] = self.index[EOS]
            inner = ~(first | last)
        else:
            inner = ~first
        seq[starts] = self.index[BOS] if bos else -1
        seq[inner] = ids
        pred = np.flatnonzero(~first)
        sent_start = np.repeat(starts, seg - 1)
        hist = np.full((len(pred), max(N - 1, 0)), -1, dtype=np.int64)
        for j in range(1, N):
            p = pred - j
            ok = p >= sent_start
            hist[:, N - 1 - j] = np.where(ok, seq[np.maximum(p, 0)], -1)
        words = seq[pred]
        return hist, words, seg - 1

    def _ids_of_lines(self, sentences: list):
        """(ids of all tokens, tokens per sentence) without a Python step per token, or None where the
        text needs the str path (token lists, a sentence holding a newline, Unicode whitespace).

        The batch is joined into bytes and split by array operations; tokens of up to 8 bytes are
        looked up as packed integer keys in a hash index of the vocabulary, longer ones in the dict.
        """
        if len(sentences) < 64 or not all(type(s) is str for s in sentences):
            return None
        text = "\n".join(sentences)
        if text.count("\n") != len(sentences) - 1:
            return None
        fast = self.ids_of_text(np.frombuffer(text.encode("utf-8"), dtype=np.uint8), len(sentences))
        return None if fast is None else fast[:2]

    def ids_of_text(self, b: np.ndarray, n_lines: int):
        """(ids of the tokens, tokens per line, token start and end offsets) of UTF-8 text ``b`` (uint8) of
        ``n_lines`` lines split on ASCII whitespace, or None where it holds other whitespace or a NUL byte."""
        if _has_other_whitespace(b):
            return None
        starts, ends, lens, short, keys = _tokenize(b, n_lines)
        unk = self.index[UNK]
        ids = np.full(len(starts), unk, dtype=np.int64)
        index, word_ids = self._packed_vocabulary()
        row = index.find(keys.view(np.int64))
        ids[short] = np.where(row >= 0, word_ids[np.maximum(row, 0)], unk)
        long_ = np.flatnonzero(ends - starts > _PACK)
        if len(long_):
            get = self.index.get
            raw = b.tobytes()
            ids[long_] = [get(raw[x:y].decode("utf-8"), unk) for x, y in zip(starts[long_].tolist(),
                                                                             ends[long_].tolist())]
        return ids, lens, starts, ends

    def _packed_vocabulary(self):
        """(hash index of the packed keys of the words of up to 8 bytes, their word ids); built once (or read
        from a binary model file)."""
        vocab = self.__dict__.get("_packed_vocab")
        if vocab is None:
            vocab = self.__dict__["_packed_vocab"] = _packed_index(self.words)
        return vocab

    @classmethod
    def load(cls, path, verify: bool = False) -> "BackoffModel":
        """A model from a binary model file (memory-mapped: milliseconds) or an ARPA file (plain or gzip), chosen
        by the file's first bytes (reference/arpa_binary.py)."""
        from reference.arpa_binary import read_model

        return read_model(path, verify=verify)

    def save_binary(self, path) -> None:
        """Write the model and its scoring tables as a binary model file (reference/arpa_binary.py)."""
        from reference.arpa_binary import write_binary

        write_binary(self, path)

    def score_sentence(self, sentence: str | Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """Total log10 probability of a sentence, as ``kenlm.Model.score`` computes it.

        One sentence is too short for array operations (their fixed cost, some 70 µs, would be most of
        the time): this walks the tokens one by one, the same back-off as :meth:`score_ngrams`, compiled
        by Numba over the batch scorer's hash tables where the ``fast`` extra is installed
        (reference/arpa_walk.py), else in Python with a dictionary per order (built on the first call:
        about 0.4 s and 100 bytes per n-gram for two million n-grams). Batches: :meth:`score_ngrams`.
        """
        if type(sentence) is str:
            one = self.__dict__.get("_one_call")
            if one is None:
                one = self._sentence_kernel()
            if one:
                fn, args = one
                total, status = fn(sentence.encode("utf-8"), args[0] if bos else -1, args[1] if eos else -1,
                                   *args[2:])
                if not status:
                    return total
        get, unk = self.index.get, self.index[UNK]
        tokens = sentence.split() if isinstance(sentence, str) else list(sentence)
        ids = [get(t, unk) for t in tokens]
        if eos:
            ids.append(self.index[EOS])
        compiled = self._compiled_walk()
        if compiled is not None:
            (walk, _), arrays = compiled
            return walk(np.array(ids, dtype=np.int64), self.index[BOS] if bos else -1, self.order, self.vocab_size,
                        *arrays)
        return self._walk_python(ids, bos)

    def _sentence_kernel(self):
        """(the compiled ``sentence_total``, its arguments after the text: the ids of ``<s>`` and ``</s>`` (-1 where
        not in the model), then the tables), checked once here so that each sentence calls the kernel without
        the per-argument checks; False without the compiled kernels."""
        from reference import arpa_walk

        compiled = self._compiled_walk()
        jit = arpa_walk._jit()
        if compiled is None or jit is None or BOS not in self.index or EOS not in self.index:
            self.__dict__["_one_call"] = False  # (without <s> or </s> the general path raises the KeyError)
            return False
        _, (pairs, starts, masks, shifts, lp, lp_off, bo, bo_off) = compiled
        index, word_ids = self._packed_vocabulary()
        meta = np.concatenate([[self.order, self.vocab_size, self.index[UNK], index.mask, 64 - index.bits],
                               starts, masks, shifts, lp_off, bo_off]).astype(np.int64)
        vtable = index.table.view(np.int64).reshape(-1, 2).copy()  # (packed key, word id): no second lookup
        used = vtable[:, 1] >= 0
        vtable[used, 1] = np.asarray(word_ids, dtype=np.int64)[vtable[used, 1]]
        tables = arpa_walk._read_only((meta, vtable, pairs, np.ascontiguousarray(lp, dtype=np.float64),
                                       np.ascontiguousarray(bo, dtype=np.float64)))
        args = (self.index[BOS], self.index[EOS]) + tables
        checked = jit.sentence_total
        checked(b"", -1, -1, *args[2:])  # the arguments' types, checked once
        unchecked = getattr(jit, "unchecked", None)  # the ahead-of-time extension's (Numba's JIT: none to skip)
        fn = unchecked["sentence_total"] if isinstance(unchecked, dict) else checked
        self.__dict__["_one_call"] = (fn, args)
        return self.__dict__["_one_call"]

    def _compiled_walk(self):
        """((the Numba sentence walk, the Numba row scorer), their arrays) where the ``fast`` extra is
        installed, else None (reference/arpa_walk.py)."""
        if "_walk" not in self.__dict__:
            from reference import arpa_walk

            walk = arpa_walk.compiled()
            self.__dict__["_walk"] = None if walk is None else (
                walk, arpa_walk.tables(self, lambda k: _HashIndex.of(self, k)))
        return self.__dict__["_walk"]

    def _walk_python(self, ids: list[int], bos: bool) -> float:
        """:meth:`score_sentence`'s walk in Python, with a dictionary per order (without Numba)."""
        tabs, lp, bo = self._python_tables()
        V, N = self.vocab_size, self.order
        # ctx[j]: the row of the j-gram that ends at the previous word (-1: not in the model); ctx[1] is its id
        ctx = [-1] * max(N, 2)
        if bos:
            ctx[1] = self.index[BOS]
        lp1, bo_, lp_ = lp[1], bo, lp
        total = 0.0
        for w in ids:
            back = 0.0
            k, r = N, -1
            while k > 1:  # the longest k-gram (context ctx[k-1], then w) in the model
                c = ctx[k - 1]
                if c >= 0:
                    r = tabs[k].get(c * V + w, -1)
                    if r >= 0:
                        break
                    back += bo_[k - 1][c]  # the context is there but not w after it: its back-off weight
                k -= 1
            total += (lp_[k][r] if k > 1 else lp1[w]) + back
            # the contexts of the next word, longest first (each from the old, shorter one): the matched
            # k-gram's row; -1 above it (those were probed and are absent); probed below it
            for j in range(N - 1, 1, -1):
                if j >= k:
                    ctx[j] = r if j == k else -1
                else:
                    c = ctx[j - 1]
                    ctx[j] = tabs[j].get(c * V + w, -1) if c >= 0 else -1
            ctx[1] = w
        return total

    def _python_tables(self):
        """Per order k >= 2 a dict {context row * V + word: row}, and log10 p and back-off as lists
        (index k for the k-grams), for :meth:`score_sentence`; built once."""
        tables = self.__dict__.get("_py_tables")
        if tables is None:
            tabs = [None, None] + [dict(zip(self.keys[k - 1].tolist(), range(len(self.keys[k - 1]))))
                                   for k in range(2, self.order + 1)]
            lp = [None] + [x.tolist() for x in self.logprob]
            bo = [None] + [x.tolist() for x in self.backoff]
            tables = self.__dict__["_py_tables"] = (tabs, lp, bo)
        return tables

    def full_scores(self, sentence: str | Sequence[str], bos: bool = True, eos: bool = True) -> np.ndarray:
        """log10 p of each predicted token (words, then ``</s>``)."""
        h, w = self.sentence_ngrams([sentence], bos=bos, eos=eos)
        return self.score_ngrams(h, w)

    def perplexity(self, sentences: Iterable[str | Sequence[str]]) -> float:
        """Per-token perplexity (``</s>`` counted as a token, ``<s>`` not), as KenLM reports it."""
        h, w = self.sentence_ngrams(sentences)
        return float(10.0 ** (-self.score_ngrams(h, w).mean()))

    def probabilities(self, history: Sequence[str]) -> np.ndarray:
        """p(w | history) for every vocabulary word w (``<s>`` gets 0: it is never predicted)."""
        V = self.vocab_size
        N = self.order
        hid = self.ids(list(history))[-(N - 1):] if N > 1 and len(history) else np.zeros(0, dtype=np.int64)
        h = np.tile(hid, (V, 1)).reshape(V, -1)
        p = 10.0 ** self.score_ngrams(h, np.arange(V))
        if BOS in self.index:
            p[self.index[BOS]] = 0.0
        return p


class _HashIndex:
    """Open addressing (linear probing, load <= 1/2) over the sorted keys of one order: row of a key or -1.

    Built once per model and order, on the first batch lookup, with whole-array rounds (each round
    places one key per free slot); a lookup is a few whole-array probe rounds. Binary search needs
    about log2(n) scattered reads per key; this needs about one.
    """

    _MULT = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, keys: np.ndarray) -> None:
        n = len(keys)
        self.keys = keys
        self.bits = max(4, int(np.ceil(np.log2(2 * n + 1))))
        self.mask = (1 << self.bits) - 1
        slot = self._hash(keys)
        jit = None
        if n >= _COMPILED_HASH_AT:
            from reference import arpa_walk

            jit = arpa_walk._jit()
        if jit is not None:  # the same rounds, compiled (reference/_arpa_jit.py's hash_rows)
            table = jit.hash_rows(slot, 1 << self.bits)
            pending = slot[:0]
        else:
            table = np.full(1 << self.bits, -1, dtype=np.int64)
            pending = np.arange(n, dtype=np.int64)
        while len(pending):
            s = slot[pending]
            free = table[s] < 0
            cand, cs = pending[free], s[free]
            cs_u, first = np.unique(cs, return_index=True)
            table[cs_u] = cand[first]
            placed = np.zeros(n, dtype=bool)
            placed[cand[first]] = True
            pending = pending[~placed[pending]]
            slot[pending] = (slot[pending] + 1) & self.mask
        # (key, row) side by side: one cache line per probe
        pairs = np.empty((len(table), 2), dtype=np.int64)
        pairs[:, 0] = keys[np.maximum(table, 0)] if n else 0
        pairs[:, 1] = table
        self.table = pairs.view(np.complex128).ravel()  # 16-byte items: a one-dimensional gather

    @classmethod
    def from_table(cls, keys: np.ndarray, table: np.ndarray, bits: int) -> "_HashIndex":
        """An index over ``keys`` from a table built earlier (a binary model file's): nothing is rebuilt."""
        index = cls.__new__(cls)
        index.keys, index.table, index.bits = keys, table, bits
        index.mask = (1 << bits) - 1
        if len(table) != 1 << bits:
            raise ValueError(f"a hash table of {len(table)} slots for {bits} bits")
        return index

    def _hash(self, key: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            h = key.astype(np.uint64) * self._MULT
        return (h >> np.uint64(64 - self.bits)).astype(np.int64)

    @classmethod
    def of(cls, model: "BackoffModel", k: int) -> "_HashIndex":
        cache = model.__dict__.setdefault("_hash_index", {})
        index = cache.get(k)
        if index is None or index.keys is not model.keys[k - 1]:
            index = cache[k] = cls(model.keys[k - 1])
        return index

    def find(self, key: np.ndarray) -> np.ndarray:
        out = np.full(len(key), -1, dtype=np.int64)
        slot = self._hash(key)
        active = np.arange(len(key), dtype=np.int64)
        while len(active) > 64:  # whole-array probe rounds while they pay; the few left: binary search
            entry = self.table[slot[active]].view(np.int64).reshape(-1, 2)
            row = entry[:, 1]
            hit = (row >= 0) & (entry[:, 0] == key[active])
            out[active[hit]] = row[hit]
            go_on = (row >= 0) & ~hit  # an occupied slot holding another key: probe the next
            active = active[go_on]
            slot[active] = (slot[active] + 1) & self.mask
        if len(active) and len(self.keys):
            pos = np.minimum(np.searchsorted(self.keys, key[active]), len(self.keys) - 1)
            out[active] = np.where(self.keys[pos] == key[active], pos, -1)
        return out


# -- writer ----------------------------------------------------------------------

_POW10F = 10.0 ** np.arange(16)
_POW10I = 10 ** np.arange(16, dtype=np.int64)
_POW10_FROM_M4 = np.array([1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0])
_PAIRS = np.array([[48 + i // 10, 48 + i % 10] for i in range(100)], dtype=np.uint8)
_FW = 17  # width of a formatted number: sign, 3 integer digits, point, 12 decimals


def _format_numbers(x: np.ndarray, out: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``'%.9g' % v`` for every v of ``x``, as an (n, 17) uint8 matrix and the mask of its kept bytes.

    Vectorised for 1e-99 <= |v| < 1000 and 0 (fixed and, below 1e-4, scientific notation); the rest,
    and values whose 9th digit is within 1e-6 of a rounding tie, are formatted by Python one by
    one, so the result is the C library's exactly.
    """
    n = len(x)
    if out is None:
        mat = np.zeros((n, _FW), dtype=np.uint8)
        keep = np.zeros((n, _FW), dtype=bool)
    else:  # (n, 17) views to fill (every byte and flag is written below)
        mat, keep = out
    v = np.abs(x)
    with np.errstate(invalid="ignore"):
        fast = (v >= 1e-4) & (v < 999.9999) | (x == 0)
        # X = floor(log10 v), exactly, from the powers of ten (1e-4 <= v < 1000 on the fast path)
        X = np.searchsorted(_POW10_FROM_M4, v, side="right") - 5
        np.clip(X, -4, 2, out=X)
        d = 8 - X
        scaled = v * _POW10F[d]
        m = np.rint(scaled)
        up = m >= 1e9  # rounding carried into a new digit: one digit fewer after the point
        if up.any():
            d -= up
            scaled = np.where(up, v * _POW10F[d], scaled)
            m = np.rint(scaled)
        fast &= (np.abs(scaled - np.floor(scaled) - 0.5) > 1e-6) & (d >= 6) & (d <= 12)
    m = np.where(fast, m, 0).astype(np.int64)
    d = np.where(fast, d, 12)
    ip, frac = np.divmod(m, _POW10I[d])
    frac12 = frac * _POW10I[12 - d]
    mat[:, 0] = ord("-")
    keep[:, 0] = np.signbit(x)
    ip = ip.astype(np.int32)
    mat[:, 1] = 48 + ip // 100
    mat[:, 2:4] = np.take(_PAIRS, ip % 100, axis=0)
    keep[:, 1] = ip >= 100
    keep[:, 2] = ip >= 10
    keep[:, 3] = True
    mat[:, 4] = ord(".")
    hi, lo = np.divmod(frac12, 1_000_000)
    for half, col in ((hi.astype(np.int32), 5), (lo.astype(np.int32), 11)):
        q, r = np.divmod(half, 100)
        mat[:, col + 4: col + 6] = np.take(_PAIRS, r, axis=0)
        q, r = np.divmod(q, 100)
        mat[:, col + 2: col + 4] = np.take(_PAIRS, r, axis=0)
        mat[:, col: col + 2] = np.take(_PAIRS, q, axis=0)
    # significant decimals: 12 minus the trailing zeros of frac12 (0 when it is 0)
    tz = np.zeros(n, dtype=np.int64)
    f = frac12
    for p in (8, 4, 2, 1):
        div = f % _POW10I[p] == 0
        f = np.where(div, f // _POW10I[p], f)
        tz += div * p
    nd = np.where(frac12 == 0, 0, 12 - tz)
    keep[:, 4] = nd > 0
    keep[:, 5:] = np.arange(12) < nd[:, None]
    rest = np.flatnonzero(~fast)
    if len(rest):
        smat, skeep, ok = _format_scientific(x[rest])  # 1e-99 <= |v| < 1e-4: %.9g writes d.dddddddde-XX
        mat[rest[ok]] = smat[ok]
        keep[rest[ok]] = skeep[ok]
        rest = rest[~ok]
        for i in rest.tolist():
            s = ("%.9g" % x[i]).encode()
            mat[i] = 0
            mat[i, : len(s)] = np.frombuffer(s, dtype=np.uint8)
            keep[i] = np.arange(_FW) < len(s)
    return mat, keep


def _format_scientific(x: np.ndarray):
    """``'%.9g'`` for 1e-99 <= |v| < 1e-4 (d.dddddddde-XX), vectorised: (matrix, keep mask, which rows
    it formatted); the others (and near-ties of the 9th digit) are left to the caller."""
    n = len(x)
    v = np.abs(x)
    ok = (v >= 1e-99) & (v < 1e-4)
    vv = np.where(ok, v, 1e-5)
    X = np.floor(np.log10(vv)).astype(np.int64)
    for _ in range(2):  # make 1e8 <= m < 1e9 whatever log10's rounding at the powers of ten
        scaled = vv * 10.0 ** (8 - X)
        m = np.rint(scaled)
        X += (m >= 1e9).astype(np.int64) - (m < 1e8).astype(np.int64)
    scaled = vv * 10.0 ** (8 - X)
    m = np.rint(scaled)
    ok &= (m >= 1e8) & (m < 1e9) & (X <= -5) & (X >= -99)
    ok &= np.abs(scaled - np.floor(scaled) - 0.5) > 1e-5
    m = np.where(ok, m, 1e8).astype(np.int64)
    mat = np.zeros((n, _FW), dtype=np.uint8)
    keep = np.zeros((n, _FW), dtype=bool)
    mat[:, 0] = ord("-")
    keep[:, 0] = np.signbit(x)
    lead, frac = np.divmod(m, 10**8)
    mat[:, 1] = 48 + lead
    keep[:, 1] = True
    mat[:, 2] = ord(".")
    digits = np.empty((n, 8), dtype=np.int64)
    f = frac
    for j in range(7, -1, -1):
        f, digits[:, j] = np.divmod(f, 10)
    nz = digits != 0
    nd = np.where(nz.any(axis=1), 8 - np.argmax(nz[:, ::-1], axis=1), 0)
    keep[:, 2] = nd > 0
    # digits after the point, then e-XX right after the last kept digit: build per row by shifting
    body = np.zeros((n, 14), dtype=np.uint8)  # up to 8 digits + "e-" + 2 exponent digits (+ slack)
    bkeep = np.zeros((n, 14), dtype=bool)
    body[:, :8] = 48 + digits
    bkeep[:, :8] = np.arange(8) < nd[:, None]
    body[:, 8] = ord("e")
    body[:, 9] = ord("-")
    e = -X
    body[:, 10] = 48 + e // 10
    body[:, 11] = 48 + e % 10
    bkeep[:, 8:12] = True
    mat[:, 3:17] = body
    keep[:, 3:17] = bkeep
    return mat, keep, ok


def _check_words(words: list, path: str) -> None:
    bad = None
    try:
        joined = "\n".join(words)
    except TypeError:
        bad = next(w for w in words if not isinstance(w, str))
    else:
        if len(joined.split()) != len(words):  # a word that is empty or holds whitespace
            bad = next(w for w in words if not w or any(c.isspace() for c in w))
    if bad is not None:  # a token with whitespace would become two fields: the file could not be read back
        raise ArpaError(f"{path}: cannot write the word {bad!r}: ARPA words are non-empty strings "
                        "without whitespace")


def write_arpa(model: BackoffModel, path) -> None:
    """Write ``model`` as an ARPA file (``path``: a file name or a binary file object, e.g.
    ``sys.stdout.buffer``). Back-off weights are written for every order but the highest; numbers
    with 9 significant digits (``%.9g``: float32 values survive exactly); a log10 p of log10 0 as ``-inf``
    (read back as -inf here and by KenLM), a back-off weight of log10 0 as -99 (KenLM refuses ``-inf`` there).

    The lines are built as byte matrices (number fields, words gathered from one byte pool), a
    block of n-grams at a time: no Python step per line.
    """
    orders = ((k, model.logprob[k - 1], model.backoff[k - 1]) for k in range(1, model.order + 1))
    write_arpa_orders(model.words, model.keys, orders, path)


def write_arpa_orders(words: list, keys: list, orders, path) -> None:
    """:func:`write_arpa` of a model given as its vocabulary ``words``, its ``keys`` per order (as
    :class:`BackoffModel`'s) and ``orders``: an iterable of ``(k, log10 p, log10 back-off)`` for k = 1 .. N in
    turn. Each order's values may be computed as the file is written (by a generator) and freed once
    written, so the whole model's values need not be in memory at once."""
    name = os.fspath(path) if not hasattr(path, "write") else getattr(path, "name", "<stream>")
    N = len(keys)
    _check_words(words, str(name))
    model = _KeysOnly(words, keys)
    enc = [w.encode("utf-8") for w in words]
    vlen = np.fromiter(map(len, enc), dtype=np.int64, count=len(enc))
    voff = np.concatenate([[0], np.cumsum(vlen)[:-1]]).astype(np.int64)
    pool = np.frombuffer(b"".join(enc) + b"\0" * (int(vlen.max()) + 1), dtype=np.uint8)
    del enc
    V = len(words)
    if hasattr(path, "write"):
        _write_arpa_to(model, orders, path, N, V, vlen, voff, pool)
    else:
        with open(path, "wb") as f:
            _write_arpa_to(model, orders, f, N, V, vlen, voff, pool)


@dataclass
class _KeysOnly:
    """What the writers read of a model besides its values: the vocabulary and the keys of every order."""

    words: list
    keys: list

    def counts(self) -> list[int]:
        return [len(k) for k in self.keys]


def _section(orders, k: int):
    """The next ``(log10 p, log10 back-off)`` of ``orders``, which must be order ``k``'s."""
    got = next(orders, None)
    if got is None or got[0] != k:
        raise ValueError(f"write_arpa_orders: expected the values of order {k}, got "
                         f"{'nothing' if got is None else f'order {got[0]}'}")
    return got[1], got[2]


def _write_arpa_compiled(model, orders, f, N, V, vlen, voff, pool, jit) -> None:
    """:func:`_write_arpa_to` with the lines built by compiled loops (reference/_arpa_jit.py, the ``fast`` extra):
    the n-grams' words by array operations a block at a time, then one pass that writes every byte; the few
    numbers the compiled ``%.9g`` leaves undecided are formatted by Python."""
    head = "\\data\\\n" + "".join(f"ngram {k}={c}\n" for k, c in enumerate(model.counts(), start=1))
    f.write(head.encode())
    wmax = int(vlen.max())
    orders = iter(orders)
    for k in range(1, N + 1):
        lp_k = bo_k = lp = None  # the last order's values (or views of them) are not kept past its section
        lp_k, bo_k = _section(orders, k)
        f.write(f"\n\\{k}-grams:\n".encode())
        keys = model.keys[k - 1]
        n = len(keys)
        step = _WRITE_BLOCK
        for a in range(0, n, step):
            b = min(n, a + step)
            grams = np.empty((b - a, k), dtype=np.int64)
            key = keys[a:b]
            for j in range(k - 1, 0, -1):
                grams[:, j] = key % V
                key = model.keys[j - 1][key // V]
            grams[:, 0] = key
            lp = np.ascontiguousarray(lp_k[a:b], dtype=np.float64)
            bo = (np.maximum(bo_k[a:b], LOG10_ZERO) if k < N else np.zeros(0)).astype(np.float64)
            lp_und, bo_und = jit.g9_undecided(lp), jit.g9_undecided(bo)
            fb = ["%.9g" % x for x in lp[lp_und].tolist()] + ["%.9g" % x for x in bo[bo_und].tolist()]
            enc = [t.encode() for t in fb]
            fb_off = np.zeros(len(enc) + 1, dtype=np.int64)
            np.cumsum(np.fromiter(map(len, enc), dtype=np.int64, count=len(enc)), out=fb_off[1:])
            fb_pool = np.frombuffer(b"".join(enc) or b"\0", dtype=np.uint8)
            lp_fb = np.full(len(lp), -1, dtype=np.int64)
            lp_fb[lp_und] = np.arange(int(lp_und.sum()))
            bo_fb = np.full(len(bo), -1, dtype=np.int64)
            bo_fb[bo_und] = np.arange(int(lp_und.sum()), int(lp_und.sum()) + int(bo_und.sum()))
            size = (b - a) * (2 * 26 + 3 + k * (wmax + 1)) + int(fb_off[-1])
            f.write(jit.arpa_lines(grams, lp, bo, k < N, pool, voff, vlen, lp_fb, bo_fb, fb_pool, fb_off, size))
    f.write(b"\n\\end\\\n")


def _write_arpa_to(model, orders, f, N, V, vlen, voff, pool) -> None:
    from reference import arpa_walk

    jit = arpa_walk._jit()
    if jit is not None and sum(model.counts()) >= _COMPILED_WRITE_AT:
        return _write_arpa_compiled(model, orders, f, N, V, vlen, voff, pool, jit)
    head = "\\data\\\n" + "".join(f"ngram {k}={c}\n" for k, c in enumerate(model.counts(), start=1))
    f.write(head.encode())
    wmax = int(vlen.max())
    table = table_keep = None
    if V * wmax <= 64 << 20:
        cols = np.arange(wmax)
        table = pool[np.minimum(voff[:, None] + cols, len(pool) - 1)]
        table_keep = cols < vlen[:, None]
    tab = np.full((1, 1), 9, dtype=np.uint8)
    space = np.full((1, 1), 32, dtype=np.uint8)
    newline = np.full((1, 1), 10, dtype=np.uint8)
    orders = iter(orders)
    for k in range(1, N + 1):
        lp_k = bo_k = lp_values = None  # the last order's values (or views of them) are not kept past its section
        lp_k, bo_k = _section(orders, k)
        f.write(f"\n\\{k}-grams:\n".encode())
        keys = model.keys[k - 1]
        n = len(keys)
        width = 2 * _FW + 3 + k * (wmax + 1)
        step = max(1024, (24 << 20) // (2 * width))
        if table is not None:
            # one line = [log10 p][tab][w1][space]...[wk][tab][back-off][newline], fixed columns
            M = np.empty((min(step, max(n, 1)), width), dtype=np.uint8)
            K = np.ones(M.shape, dtype=bool)
            col = {"lp": 0, "words": [], "bo": None}
            c = _FW
            M[:, c] = 9
            c += 1
            for j in range(k):
                col["words"].append(c)
                c += wmax
                M[:, c] = 32 if j < k - 1 else 9
                K[:, c] = j < k - 1 or k < N
                c += 1
            if k < N:
                col["bo"] = c
                c += _FW
            M[:, c] = 10
            c += 1
            M, K = M[:, :c], K[:, :c]
        for a in range(0, n, step):
            b = min(n, a + step)
            m = b - a
            # the words of each n-gram, last first, by walking the keys down the orders
            grams = np.empty((m, k), dtype=np.int64)
            key = keys[a:b]
            for j in range(k - 1, 0, -1):
                grams[:, j] = key % V
                key = model.keys[j - 1][key // V]
            grams[:, 0] = key
            # log10 p = -inf is written "-inf" (KenLM's reader parses it: util/file_piece.cc's converter
            # knows "inf"); a back-off weight of log10 0 is written -99, since KenLM refuses an infinite one
            # ("Bad backoff", lm/read_arpa.cc)
            lp_values = lp_k[a:b]
            bo_values = np.maximum(bo_k[a:b], LOG10_ZERO) if k < N else None
            if table is not None:
                Mm, Km = M[:m], K[:m]
                _format_numbers(lp_values, out=(Mm[:, :_FW], Km[:, :_FW]))
                for j, c0 in enumerate(col["words"]):
                    Mm[:, c0: c0 + wmax] = np.take(table, grams[:, j], axis=0)  # faster than table[g]
                    Km[:, c0: c0 + wmax] = np.take(table_keep, grams[:, j], axis=0)
                if k < N:
                    c0 = col["bo"]
                    _format_numbers(bo_values, out=(Mm[:, c0: c0 + _FW], Km[:, c0: c0 + _FW]))
                f.write(Mm[Km])
                continue
            lp, lp_keep = _format_numbers(lp_values)
            blocks, keeps = [lp, np.broadcast_to(tab, (m, 1))], [lp_keep, np.ones((m, 1), dtype=bool)]
            for j in range(k):
                g = grams[:, j]
                wl = vlen[g]
                cols = np.arange(int(wl.max()))
                blocks.append(pool[voff[g][:, None] + cols])
                keeps.append(cols < wl[:, None])
                if j < k - 1:
                    blocks.append(np.broadcast_to(space, (m, 1)))
                    keeps.append(np.ones((m, 1), dtype=bool))
            if k < N:
                bo, bo_keep = _format_numbers(bo_values)
                blocks += [np.broadcast_to(tab, (m, 1)), bo]
                keeps += [np.ones((m, 1), dtype=bool), bo_keep]
            blocks.append(np.broadcast_to(newline, (m, 1)))
            keeps.append(np.ones((m, 1), dtype=bool))
            f.write(np.concatenate(blocks, axis=1)[np.concatenate(keeps, axis=1)].tobytes())
    f.write(b"\n\\end\\\n")


# -- reader ----------------------------------------------------------------------

_NGRAM_COUNT = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION = re.compile(r"^\\(\d+)-grams:$")


def _arpa_header(lines: list[str], err) -> tuple[dict[int, int], int]:
    """The \\data\\ section's declared counts {k: count} and the index of the line after them."""
    i = 0
    while i < len(lines) and lines[i].strip() == "":
        i += 1
    if i >= len(lines) or lines[i].strip() != "\\data\\":
        raise err(i + 1, "expected the header line '\\data\\'")
    i += 1
    declared: dict[int, int] = {}
    while i < len(lines) and lines[i].strip() != "":
        m = _NGRAM_COUNT.match(lines[i].strip())
        if not m:
            raise err(i + 1, f"expected 'ngram K=COUNT' in the \\data\\ section, got {lines[i]!r}")
        declared[int(m.group(1))] = int(m.group(2))
        i += 1
    if not declared:
        raise err(i + 1, "the \\data\\ section declares no n-gram counts")
    N = max(declared)
    if sorted(declared) != list(range(1, N + 1)):
        raise err(i + 1, f"the \\data\\ section must declare orders 1..{N}, got {sorted(declared)}")
    return declared, i


class _NotPlain(Exception):
    """What the compiled ARPA reader does not take as it is: the Python reader reads the file (and names the
    problem where there is one)."""


def _read_arpa_compiled(b: np.ndarray, jit) -> BackoffModel | None:
    """:func:`_read_arpa` by compiled loops over the bytes ``b`` (no string per line or field: the unigrams'
    words alone become strings); None where the file is not plain (see :class:`_NotPlain`)."""

    def fail(*_):
        raise _NotPlain

    try:
        marks = jit.arpa_marks(b).tolist()
        if len(marks) < 2:
            return None

        def line_at(a: int) -> str:
            e = int(np.argmax(b[a: a + 4096] == 10)) if (b[a: a + 4096] == 10).any() else min(len(b) - a, 4096)
            return b[a: a + e].tobytes().decode("utf-8").strip()

        head = b[: marks[1]].tobytes().decode("utf-8").split("\n")
        declared, i = _arpa_header(head, fail)
        if any(line.strip() for line in head[i:]):
            return None
        N = max(declared)
        bodies: dict[int, tuple[int, int]] = {}
        ended = False
        for a, nxt in zip(marks[1:], marks[2:] + [len(b)]):
            mark = line_at(a)
            if mark == "\\end\\":
                ended = True
                break
            m = _SECTION.match(mark)
            if not m or int(m.group(1)) not in declared or int(m.group(1)) in bodies:
                return None
            start = a + len(b[a:nxt].tobytes().split(b"\n", 1)[0]) + 1
            bodies[int(m.group(1))] = (start, nxt)
        if not ended or sorted(bodies) != list(range(1, N + 1)):
            return None
        n1 = declared[1]
        size = 1 << max(4, int(2 * (n1 + 3)).bit_length())
        table = np.full(size, -1, dtype=np.int64)
        wstart = np.zeros(n1 + 1, dtype=np.int64)
        wlen = np.zeros(n1 + 1, dtype=np.int64)
        wpool = np.zeros(bodies[1][1] - bodies[1][0] + 1, dtype=np.uint8)
        n_words = pool_used = 0
        parsed = {}
        for k in range(1, N + 1):
            a, e = bodies[k]
            lp, bo, ids, lp_py, bo_py, starts, ends, status, n_words, pool_used = jit.arpa_section(
                b, a, e, k, table, wstart, wlen, wpool, n_words, pool_used, k == 1)
            if status != 0 or len(lp) != declared[k]:
                return None
            for r in np.flatnonzero(lp_py | bo_py).tolist():  # numbers that are not plain decimals: Python's float
                fields = b[starts[r]: ends[r]].tobytes().split()
                lp[r] = float(fields[0])
                if bo_py[r]:
                    bo[r] = float(fields[k + 1])
            if (~(lp <= 0) | ~np.isfinite(bo)).any():
                return None
            parsed[k] = (lp, bo, ids)
        pool = wpool[:pool_used].tobytes()
        words = [pool[x: x + n].decode("utf-8") for x, n in zip(wstart[:n_words].tolist(), wlen[:n_words].tolist())]
        index = dict(zip(words, range(len(words))))
        lp1, bo1, _ = parsed.pop(1)
        return _assemble_arpa_model(words, index, lp1, bo1, ((k, *parsed[k]) for k in range(2, N + 1)), fail)
    except (_NotPlain, ValueError):
        return None


#: bytes of an ARPA file read at a time by :func:`read_arpa_for_scoring` (ends moved to the next newline)
_SCORING_READ_BLOCK = 1 << 18


def read_arpa_for_scoring(path):
    """What ``lmverify ngram score`` needs of a plain ARPA file (reference/arpa_binary.py's ScoringModel), read a
    block at a time into the compact float32 scoring tables (reference/arpa_walk.py's ``query_tables``; sized
    from the ``\\data\\`` counts): the file's bytes are never held whole, and no float64 model is built. None
    without the compiled kernels, for a gzip file, and for anything the compiled ARPA reader does not take as it
    is (a malformed line, a context not in the file, a count other than the declared one, no ``<unk>``, ...):
    the caller then reads the file with :func:`read_arpa`, which names the problem."""
    from reference import arpa_walk

    path = os.fspath(path)
    jit = arpa_walk._jit()
    if jit is None or not os.path.isfile(path):
        return None
    with open(path, "rb") as f:
        if f.read(2) == b"\x1f\x8b":
            return None
        f.seek(0)
        try:
            return _stream_arpa(path, f, jit)
        except (_NotPlain, ValueError, UnicodeDecodeError):
            return None


def _arpa_pieces(f, jit):
    """The file ``f`` in order as ("body", uint8 array, start, end) and ("mark", stripped text of a line that starts
    with a backslash, 0, 0), about :data:`_SCORING_READ_BLOCK` bytes at a time (bodies are ranges of one array:
    no copies)."""
    rest = b""
    while True:
        more = f.read(_SCORING_READ_BLOCK)
        buf = rest + more if rest else more
        if more:
            cut = buf.rfind(b"\n") + 1
            if cut == 0:
                rest = buf
                continue
        else:
            cut = len(buf)
        rest = buf[cut:]
        piece = np.frombuffer(buf, dtype=np.uint8)[:cut]
        prev = 0
        for m in jit.arpa_marks(piece).tolist():
            yield "body", piece, prev, m
            nl = buf.find(b"\n", m, cut)
            prev = nl + 1 if nl >= 0 else cut
            yield "mark", buf[m:prev].decode("utf-8").strip(), 0, 0
        yield "body", piece, prev, cut
        if not more:
            return


def _blank(b, a: int, e: int) -> bool:
    """Whether ``b[a:e]`` is ASCII whitespace only."""
    return e <= a or bool(np.take(_ASCII_SPACE, b[a:e]).all())


def _stream_arpa(path: str, f, jit):
    from reference import arpa_walk
    from reference.arpa_binary import ScoringModel

    def fail(*_):
        raise _NotPlain

    pieces = _arpa_pieces(f, jit)
    head = []
    n_marks = 0
    for kind, data, a, e in pieces:
        if kind == "mark":
            n_marks += 1
            if n_marks == 2:
                if data != "\\1-grams:":
                    return None
                break
            head.append(data + "\n")
        else:
            head.append(data[a:e].tobytes().decode("utf-8"))
    else:
        return None
    lines = "".join(head).split("\n")
    declared, i = _arpa_header(lines, fail)
    if any(line.strip() for line in lines[i:]):
        return None
    N = max(declared)
    n1 = declared[1]
    wtable = np.full(1 << max(4, int(2 * (n1 + 3)).bit_length()), -1, dtype=np.int64)
    wstart = np.zeros(n1 + 1, dtype=np.int64)
    wlen = np.zeros(n1 + 1, dtype=np.int64)
    k, unigrams, seen, V, q1, qk = 1, [], 0, 0, None, None
    n_words = pool_used = 0
    wpool = None
    ended = False
    for kind, data, a, e in pieces:
        if kind == "body" and k == 1:
            unigrams.append(data[a:e].tobytes())
            continue
        if kind == "body":
            if _blank(data, a, e):
                continue
            lp, bo, ids, lp_py, bo_py, starts, ends, status, _, _ = jit.arpa_section(
                data, a, e, k, wtable, wstart, wlen, wpool, n_words, pool_used, False)
            if status != 0:
                return None
            _python_floats(data, k, lp, bo, lp_py, bo_py, starts, ends)
            seen += len(lp)
            if seen > declared[k] or (~(lp <= 0) | ~np.isfinite(bo)).any():
                return None
            if jit.query_insert(ids, lp, bo, k, N, V, qk, qv, qt, qtv, geometry) != 0:
                return None
            continue
        # a mark: the end of section k
        if k == 1:
            body = b"".join(unigrams)
            unigrams = []
            body.decode("utf-8")  # the words are UTF-8 (else: the Python reader names the file)
            b = np.frombuffer(body, dtype=np.uint8)
            wpool = np.zeros(len(b) + 1, dtype=np.uint8)
            lp, bo, _, lp_py, bo_py, starts, ends, status, n_words, pool_used = jit.arpa_section(
                b, 0, len(b), 1, wtable, wstart, wlen, wpool, 0, 0, True)
            if status != 0 or len(lp) != n1:
                return None
            _python_floats(b, 1, lp, bo, lp_py, bo_py, starts, ends)
            del b, body
            if (~(lp <= 0) | ~np.isfinite(bo)).any():
                return None
            V = n_words
            q1 = np.empty((V, 2), np.float32)
            q1[:, 0], q1[:, 1] = lp, bo
            del lp, bo, lp_py, bo_py, starts, ends
            pool = wpool[:pool_used].tobytes()
            packed_vocab = _packed_index_of_pool(wpool[:pool_used], wstart[:V], wlen[:V])
            vindex, vids = packed_vocab
            specials = (UNK, BOS, EOS)
            rows = vindex.find(_pack([w.encode() for w in specials]).view(np.int64))
            special = {w: int(vids[r]) for w, r in zip(specials, rows.tolist()) if r >= 0}
            if UNK not in special:
                return None
            # the tables, sized from the declared counts (allocated after the words' strings are gone)
            qk, qv, qt, qtv, geometry = arpa_walk.query_arrays([arpa_walk.query_size(declared[j])
                                                                for j in range(2, N + 1)])
        elif seen != declared[k]:
            return None
        if data == "\\end\\" and k == N:
            ended = True
            break
        if data != f"\\{k + 1}-grams:" or k == N:
            return None
        k, seen = k + 1, 0
    if not ended:
        return None
    starts_, lens_ = wstart[:V].copy(), wlen[:V].copy()

    def words_index() -> dict:
        return {pool[x: x + n].decode("utf-8"): i for i, (x, n) in enumerate(zip(starts_.tolist(), lens_.tolist()))}

    del wtable, wstart, wlen, wpool
    tables = arpa_walk._read_only((qk, qv, qt, qtv, geometry, q1))
    return ScoringModel.of_parts(path, N, V, special, tables, packed_vocab, words_index, lambda: read_arpa(path))


def _python_floats(b, k, lp, bo, lp_py, bo_py, starts, ends) -> None:
    """The numbers the compiled parser left to Python (not plain decimals), by Python's float()."""
    for r in np.flatnonzero(lp_py | bo_py).tolist():
        fields = b[starts[r]: ends[r]].tobytes().split()
        lp[r] = float(fields[0])
        if bo_py[r]:
            bo[r] = float(fields[k + 1])


def _assemble_arpa_model(words: list[str], index: dict, lp1, bo1, higher, fail) -> BackoffModel:
    """The model from the unigrams (words in file order, their index, log10 p, back-off) and, for each higher
    order, ``(k, log10 p, back-off, word ids (m, k))`` in file order; ``fail(k, row, message)`` raises for a
    context that is not in the file or an n-gram that appears twice."""
    if UNK not in index:
        # KenLM adds <unk> when a file lacks it; so do we, with probability 0 (log10 = -inf is not ARPA)
        words.append(UNK)
        index[UNK] = len(words) - 1
        lp1 = np.append(lp1, -100.0)
        bo1 = np.append(bo1, 0.0)
    V = len(words)
    model = BackoffModel(words=words, keys=[np.arange(V, dtype=np.int64)], logprob=[lp1], backoff=[bo1], index=index)
    for k, lp, bo, ids in higher:
        prefix = model.lookup(ids[:, :-1]) if len(ids) else np.zeros(0, dtype=np.int64)
        if (prefix < 0).any():
            r = int(np.nonzero(prefix < 0)[0][0])
            raise fail(k, r, "context")
        key = prefix * V + ids[:, -1]
        order = np.argsort(key, kind="stable")
        key = key[order]
        dup = np.nonzero(np.diff(key) == 0)[0]
        if len(dup):
            raise fail(k, int(order[dup[0] + 1]), "twice")
        model.keys.append(key)
        model.logprob.append(lp[order])
        model.backoff.append(bo[order])
    return model


def read_arpa(path: str | os.PathLike) -> BackoffModel:
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small lists: the cyclic collector only slows the parse down
    try:
        return _read_arpa(path)
    finally:
        if gc_was_enabled:
            gc.enable()


def _arpa_bytes(path: str) -> tuple[bytes, str]:
    """The ARPA file's bytes (decompressed where gzip) and their text; ArpaError for a missing file, a gzip body
    that does not decompress, bytes that are not UTF-8."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ArpaError(f"{path}: no such ARPA file")
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":  # gzip, as lmplz writes with a .gz name and KenLM reads transparently
        import gzip

        import zlib

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:  # a bad header, a truncated or a corrupt body
            raise ArpaError(f"{path}: a gzip file that does not decompress ({type(exc).__name__}: {exc}); "
                            "is it truncated or damaged?") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArpaError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); ARPA files from KenLM are UTF-8 - "
                        "convert it (e.g. iconv -f latin1 -t utf-8)") from None
    return data, text


def _read_arpa(path: str | os.PathLike) -> BackoffModel:
    """Read an ARPA file into a :class:`BackoffModel`.

    Raises :class:`ArpaError` naming the file and line for anything malformed:
    a missing header, a count that disagrees with the header, a line with the
    wrong number of fields, a number that does not parse, an n-gram whose
    context is not in the file.

    With the compiled kernels (reference/arpa_walk.py) a file of 1 MiB or more is parsed by compiled loops
    (:func:`_read_arpa_compiled`); anything they do not take as it is (a malformed line, a number that is not
    a plain decimal, whitespace beyond ASCII's) is read by the Python path below, which names the problem.
    """
    path = os.fspath(path)
    data, text = _arpa_bytes(path)
    if len(data) >= _COMPILED_READ_AT:
        from reference import arpa_walk

        jit = arpa_walk._jit()
        b = np.frombuffer(data, dtype=np.uint8)
        if jit is not None and not _has_other_whitespace(b):
            del text
            model = _read_arpa_compiled(b, jit)
            if model is not None:
                return model
            text = data.decode("utf-8")
    lines = text.split("\n")

    def err(lineno: int, msg: str) -> ArpaError:
        return ArpaError(f"{path}:{lineno}: {msg}")

    declared, i = _arpa_header(lines, err)
    N = max(declared)

    sections: dict[int, list[tuple[int, list[str]]]] = {}
    marks = [j for j in range(i, len(lines)) if lines[j][:1] == "\\" or lines[j].lstrip()[:1] == "\\"]
    marks.append(len(lines))
    # anything non-blank between the \data\ block and the first section is stray
    first = marks[0]
    for j in range(i, first):
        if lines[j].strip():
            raise err(j + 1, f"n-gram line outside a \\K-grams: section: {lines[j]!r}")
    ended = False
    for a, b in zip(marks[:-1], marks[1:]):
        s = lines[a].strip()
        if s == "\\end\\":
            ended = True
            break
        m = _SECTION.match(s)
        if not m:
            raise err(a + 1, f"expected a '\\K-grams:' section header or '\\end\\', got {lines[a]!r}")
        current = int(m.group(1))
        if current not in declared:
            raise err(a + 1, f"section \\{current}-grams: is not declared in the \\data\\ section")
        if current in sections:
            raise err(a + 1, f"section \\{current}-grams: appears twice")
        sections[current] = [(j + 1, f) for j, f in zip(range(a + 1, b), (l.split() for l in lines[a + 1:b])) if f]
    if not ended:
        raise err(len(lines), "missing the closing '\\end\\' line")
    for k in range(1, N + 1):
        got = len(sections.get(k, []))
        if got != declared[k]:
            raise err(i, f"the header declares ngram {k}={declared[k]} but the file has {got} {k}-grams")

    def parse(k: int):
        rows = sections[k]
        fields = [f for _, f in rows]
        nf = np.fromiter(map(len, fields), dtype=np.int64, count=len(fields))
        bad = np.nonzero((nf != k + 1) & (nf != k + 2))[0]
        if len(bad):
            r = int(bad[0])
            raise err(rows[r][0], f"a {k}-gram line needs log10 p, {k} word(s) and an optional back-off "
                                  f"weight; got {nf[r]} fields: {' '.join(fields[r])!r}")
        try:
            lp = np.array([f[0] for f in fields], dtype=np.float64)
            bo = np.array([f[k + 1] if len(f) == k + 2 else "0" for f in fields], dtype=np.float64)
        except ValueError:
            for lineno, f in rows:
                try:
                    float(f[0]), float(f[k + 1] if len(f) == k + 2 else 0)
                except ValueError:
                    raise err(lineno, f"not a number in {' '.join(f)!r}") from None
            raise
        bad = np.nonzero(~(lp <= 0) | ~np.isfinite(bo))[0]
        if len(bad):
            r = int(bad[0])
            raise err(rows[r][0], f"expected log10 p <= 0 and a finite back-off weight, got {' '.join(fields[r])!r}")
        return lp, bo, [f[1:k + 1] for f in fields]

    lp1, bo1, toks1 = parse(1)
    words = [t[0] for t in toks1]
    index: dict[str, int] = {}
    for r, w in enumerate(words):
        if w in index:
            raise err(sections[1][r][0], f"unigram {w!r} appears twice")
        index[w] = r
    toks_of: dict[int, list] = {}

    def higher():
        get = index.get
        for k in range(2, N + 1):
            lp, bo, toks = parse(k)
            toks_of[k] = toks
            flat = [get(w, -1) for t in toks for w in t]
            ids = np.asarray(flat, dtype=np.int64).reshape(len(toks), k)
            if (ids < 0).any():
                r, c = (int(x[0]) for x in np.nonzero(ids < 0))
                raise err(sections[k][r][0], f"word {toks[r][c]!r} of this {k}-gram is not among the unigrams")
            yield k, lp, bo, ids

    def fail(k: int, r: int, what: str) -> ArpaError:
        toks = toks_of[k]
        if what == "context":
            return err(sections[k][r][0], f"the context {' '.join(toks[r][:-1])!r} of this {k}-gram is not a "
                                          f"{k - 1}-gram of the file")
        return err(sections[k][r][0], f"{k}-gram {' '.join(toks[r])!r} appears twice")

    return _assemble_arpa_model(words, index, lp1, bo1, higher(), fail)
