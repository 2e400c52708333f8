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
from typing import Iterable, Sequence

import numpy as np

BOS, EOS, UNK = "<s>", "</s>", "<unk>"

#: how log10 0 (a zero probability or back-off weight) is written in an ARPA file
LOG10_ZERO = -99.0

__all__ = ["BOS", "EOS", "UNK", "ArpaError", "BackoffModel", "read_arpa", "write_arpa"]


class ArpaError(ValueError):
    """A malformed ARPA file; the message names the file and line."""


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
        unk = self.index[UNK]
        get = self.index.get
        return np.fromiter((get(t, unk) for t in tokens), dtype=np.int64, count=len(tokens))

    def lookup(self, grams: np.ndarray) -> np.ndarray:
        """Row index of each k-gram (rows of ``grams``, word ids) in its order's table, or -1."""
        grams = np.asarray(grams, dtype=np.int64)
        if grams.ndim != 2 or not 1 <= grams.shape[1] <= self.order:
            raise ValueError(f"grams must be an (n, k) id array with 1 <= k <= {self.order}, got shape {grams.shape}")
        V = self.vocab_size
        rank = np.where((grams[:, 0] >= 0) & (grams[:, 0] < V), grams[:, 0], -1)
        for j in range(1, grams.shape[1]):
            keys = self.keys[j]
            if len(keys) == 0:
                return np.full(len(grams), -1, dtype=np.int64)
            key = rank * V + grams[:, j]
            pos = np.searchsorted(keys, key)
            pos_c = np.minimum(pos, len(keys) - 1)
            ok = (rank >= 0) & (len(keys) > 0) & (keys[pos_c] == key)
            rank = np.where(ok, pos_c, -1)
        return rank

    def entries(self, k: int) -> np.ndarray:
        """All k-grams of the model as an (n_k, k) array of word ids, in key order."""
        grams = np.arange(self.vocab_size, dtype=np.int64)[:, None]
        for j in range(1, k):
            key = self.keys[j]
            grams = np.concatenate([grams[key // self.vocab_size], (key % self.vocab_size)[:, None]], axis=1)
        return grams

    # -- scoring --------------------------------------------------------------
    def score_ngrams(self, histories: np.ndarray, words: np.ndarray) -> np.ndarray:
        """log10 p(w | h) by back-off for each row: ``histories`` (n, N-1) ids (-1 = none), ``words`` (n,).

        ``histories[:, -1]`` is the word right before ``w``. A -1 entry means
        "no word there" (the history is shorter, e.g. at a sentence start).
        """
        words = np.asarray(words, dtype=np.int64)
        n = len(words)
        h = np.asarray(histories, dtype=np.int64).reshape(n, -1)
        N = self.order
        if h.shape[1] < N - 1:
            h = np.concatenate([np.full((n, N - 1 - h.shape[1]), -1, dtype=np.int64), h], axis=1)
        h = h[:, h.shape[1] - (N - 1):] if N > 1 else h[:, :0]
        # longest matching n-gram ending in w, and the back-off weights of longer contexts
        result = self.logprob[0][words].astype(np.float64)
        matched = np.ones(n, dtype=bool)  # the current order k still matches
        bow_sum = np.zeros(n)
        for k in range(2, N + 1):
            ctx = h[:, N - k:]  # the last k-1 history words
            ctx_idx = self.lookup(ctx)
            valid_ctx = (ctx >= 0).all(axis=1)
            ctx_idx = np.where(valid_ctx, ctx_idx, -1)
            gram_idx = np.where(ctx_idx >= 0, self._extend(k, ctx_idx, words), -1)
            found = matched & (gram_idx >= 0)
            # contexts present but w not found after them: back-off weight applies
            bo_table, lp_table = self.backoff[k - 2], self.logprob[k - 1]
            bow = np.where(ctx_idx >= 0, bo_table[np.maximum(ctx_idx, 0)], 0.0) if len(bo_table) else np.zeros(n)
            # reset the bow sum where a longer gram matches; otherwise accumulate
            bow_sum = np.where(found, 0.0, bow_sum + bow)
            if len(lp_table):
                result = np.where(found, lp_table[np.maximum(gram_idx, 0)], result)
            matched = found
        return result + bow_sum

    def _extend(self, k: int, ctx_idx: np.ndarray, words: np.ndarray) -> np.ndarray:
        keys = self.keys[k - 1]
        if len(keys) == 0:
            return np.full(len(words), -1, dtype=np.int64)
        key = ctx_idx * self.vocab_size + words
        pos_c = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
        return np.where((ctx_idx >= 0) & (keys[pos_c] == key), pos_c, -1)

    def sentence_ngrams(self, sentences: Iterable[str | Sequence[str]], bos: bool = True, eos: bool = True):
        """(histories, words) arrays for every predicted token of the sentences (the ``</s>`` included)."""
        N = self.order
        hist_rows, word_rows = [], []
        b = self.index[BOS]
        e = self.index[EOS]
        for s in sentences:
            toks = s.split() if isinstance(s, str) else list(s)
            ids = self.ids(toks)
            seq = np.concatenate([[b] if bos else np.full(1, -1), ids, [e] if eos else []]).astype(np.int64)
            padded = np.concatenate([np.full(max(N - 2, 0), -1, dtype=np.int64), seq])
            T = len(seq) - 1
            if T <= 0:
                continue
            if N > 1:
                win = np.lib.stride_tricks.sliding_window_view(padded, N)[:T]
                hist_rows.append(win[:, :-1])
                word_rows.append(win[:, -1])
            else:
                hist_rows.append(np.zeros((T, 0), dtype=np.int64))
                word_rows.append(seq[1:])
        if not word_rows:
            return np.zeros((0, max(N - 1, 0)), dtype=np.int64), np.zeros(0, dtype=np.int64)
        return np.concatenate(hist_rows), np.concatenate(word_rows)

    def score_sentence(self, sentence: str | Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """Total log10 probability of a sentence, as ``kenlm.Model.score`` computes it."""
        h, w = self.sentence_ngrams([sentence], bos=bos, eos=eos)
        return float(self.score_ngrams(h, w).sum())

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


# -- writer ----------------------------------------------------------------------

def write_arpa(model: BackoffModel, path: str | os.PathLike) -> None:
    """Write ``model`` as an ARPA file. Back-off weights are written for every order but the highest."""
    N = model.order
    for w in model.words:  # a token with whitespace would become two fields: the file could not be read back
        if not isinstance(w, str) or not w or any(c.isspace() for c in w):
            raise ArpaError(f"{os.fspath(path)}: cannot write the word {w!r}: ARPA words are non-empty strings "
                            "without whitespace")
    words = np.asarray(model.words, dtype=object)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\\data\\\n")
        for k, c in enumerate(model.counts(), start=1):
            f.write(f"ngram {k}={c}\n")
        for k in range(1, N + 1):
            f.write(f"\n\\{k}-grams:\n")
            grams = model.entries(k)
            text = words[grams[:, 0]]
            for j in range(1, k):
                text = text + " " + words[grams[:, j]]
            # log10 0 = -inf is not ARPA: written as -99, the usual convention (SRILM, KenLM read it)
            lp = np.maximum(model.logprob[k - 1], LOG10_ZERO)
            fmt = "{:.9g}".format
            lp_s = list(map(fmt, lp.tolist()))
            if k < N:
                bo_s = list(map(fmt, np.maximum(model.backoff[k - 1], LOG10_ZERO).tolist()))
                lines = [f"{a}\t{b}\t{c}\n" for a, b, c in zip(lp_s, text.tolist(), bo_s)]
            else:
                lines = [f"{a}\t{b}\n" for a, b in zip(lp_s, text.tolist())]
            f.writelines(lines)
        f.write("\n\\end\\\n")


# -- reader ----------------------------------------------------------------------

_NGRAM_COUNT = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION = re.compile(r"^\\(\d+)-grams:$")


def read_arpa(path: str | os.PathLike) -> BackoffModel:
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small lists: the cyclic collector only slows the parse down
    try:
        return _read_arpa(path)
    finally:
        if gc_was_enabled:
            gc.enable()


def _read_arpa(path: str | os.PathLike) -> BackoffModel:
    """Read an ARPA file into a :class:`BackoffModel`.

    Raises :class:`ArpaError` naming the file and line for anything malformed:
    a missing header, a count that disagrees with the header, a line with the
    wrong number of fields, a number that does not parse, an n-gram whose
    context is not in the file.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ArpaError(f"{path}: no such ARPA file")
    with open(path, "rb") as f:
        data = f.read()
    if data[:2] == b"\x1f\x8b":  # gzip, as lmplz writes with a .gz name and KenLM reads transparently
        import gzip

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ArpaError(f"{path}: a gzip file that does not decompress: {exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArpaError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason}); ARPA files from KenLM are UTF-8 - "
                        "convert it (e.g. iconv -f latin1 -t utf-8)") from None
    lines = text.split("\n")

    def err(lineno: int, msg: str) -> ArpaError:
        return ArpaError(f"{path}:{lineno}: {msg}")

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
    if UNK not in index:
        # KenLM adds <unk> when a file lacks it; so do we, with probability 0 (log10 = -inf is not ARPA)
        words.append(UNK)
        index[UNK] = len(words) - 1
        lp1 = np.append(lp1, -100.0)
        bo1 = np.append(bo1, 0.0)
    V = len(words)
    model = BackoffModel(words=words, keys=[np.arange(V, dtype=np.int64)], logprob=[lp1], backoff=[bo1], index=index)
    for k in range(2, N + 1):
        lp, bo, toks = parse(k)
        get = index.get
        flat = [get(w, -1) for t in toks for w in t]
        ids = np.asarray(flat, dtype=np.int64).reshape(len(toks), k)
        if (ids < 0).any():
            r, c = (int(x[0]) for x in np.nonzero(ids < 0))
            raise err(sections[k][r][0], f"word {toks[r][c]!r} of this {k}-gram is not among the unigrams")
        prefix = model.lookup(ids[:, :-1]) if len(ids) else np.zeros(0, dtype=np.int64)
        if (prefix < 0).any():
            r = int(np.nonzero(prefix < 0)[0][0])
            raise err(sections[k][r][0], f"the context {' '.join(toks[r][:-1])!r} of this {k}-gram is not a "
                                         f"{k - 1}-gram of the file")
        key = prefix * V + ids[:, -1]
        order = np.argsort(key, kind="stable")
        key = key[order]
        dup = np.nonzero(np.diff(key) == 0)[0]
        if len(dup):
            r = int(order[dup[0] + 1])
            raise err(sections[k][r][0], f"{k}-gram {' '.join(toks[r])!r} appears twice")
        model.keys.append(key)
        model.logprob.append(lp[order])
        model.backoff.append(bo[order])
    return model
