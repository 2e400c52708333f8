"""NumPy float64 references for the ngram topic (language_modeling_basics.md).

Two parts:

1. The equations, one short function each, with the same names and parameters
   as ``specs/ngram.py`` (SymPy) and ``reference/torch/ngram.py``. They work on
   dense arrays: a count table ``counts[h, w]`` has one row per context.
2. A vectorised, sparse Kneser-Ney estimator (:func:`estimate_kneser_ney`) that
   follows KenLM's ``lmplz`` conventions exactly (see ``docs/ngram.md`` and
   ``tests/data/kenlm/PROVENANCE.md``) and returns a
   :class:`reference.arpa.BackoffModel`. n-grams are integer keys, counted by sorting
   (``np.sort``) and runs; :func:`read_corpus` turns a text file into ids without a Python
   object per token; nothing loops over n-grams or tokens in Python.
"""

from __future__ import annotations

from collections import Counter
from itertools import chain, islice
from dataclasses import dataclass
import os
import re
from typing import Iterable, Sequence

import numpy as np

from reference.arpa import _PACK, BOS, EOS, UNK, BackoffModel, _has_other_whitespace, _pack, _tokenize
from reference.numpy._common import check_scalar

# =====================================================================================
# 1. Equations (dense): same names and signatures in specs/ and reference/torch/
# =====================================================================================


def _probabilities(p, name: str) -> np.ndarray:
    """p as float64; ValueError naming ``name`` unless every entry is in [0, 1 + PROBABILITY_SUM_TOL] (no NaN).

    The same threshold as the information topic's distributions (reference/numpy/information.py).
    """
    from reference.numpy.information import PROBABILITY_SUM_TOL  # here: the estimator's command needs no SciPy

    p = np.asarray(p, dtype=np.float64)
    if np.isnan(p).any():
        raise ValueError(f"{name} contains NaN; expected probabilities in [0, 1]")
    if (p < 0).any() or (p > 1 + PROBABILITY_SUM_TOL).any():
        raise ValueError(f"{name} must hold probabilities in [0, 1], got values in [{p.min()}, {p.max()}]")
    return p


def chain_rule_joint(conditionals):
    """P(w_1..w_T) = prod_t P(w_t | w_<t): ``conditionals`` (..., T) -> (...)."""
    return np.prod(_probabilities(conditionals, "conditionals"), axis=-1)


def sequence_conditionals(joint):
    """The chain rule's factors from a joint table ``joint[w_1, ..., w_T]`` (shape (V,)*T).

    Returns ``cond`` of shape (T, V, ..., V): ``cond[t][w_1..w_T] = P(w_{t+1} | w_1..w_t)``
    (0 where the prefix has probability 0), so ``prod_t cond[t] == joint``.
    """
    joint = _probabilities(joint, "joint")
    T = joint.ndim
    out = []
    for t in range(T):
        num = joint.sum(axis=tuple(range(t + 1, T)), keepdims=True) if t + 1 < T else joint
        den = joint.sum(axis=tuple(range(t, T)), keepdims=True)
        c = np.divide(num, den, out=np.zeros(np.broadcast_shapes(num.shape, den.shape)), where=den > 0)
        out.append(np.broadcast_to(c, joint.shape))
    return np.stack(out)


def markov_conditionals(joint, order):
    """Factors P(w_t | last ``order`` words) of a joint table, as in :func:`sequence_conditionals`."""
    joint = _probabilities(joint, "joint")
    order = check_scalar("markov_conditionals", "order", order, low=0, integer=True)
    T = joint.ndim
    out = []
    for t in range(T):
        lo = max(0, t - order)
        # marginal over positions lo..t, then condition on lo..t-1
        keep = tuple(range(lo, t + 1))
        drop = tuple(i for i in range(T) if i not in keep)
        marg = joint.sum(axis=drop, keepdims=True)
        den = marg.sum(axis=t, keepdims=True)
        c = np.divide(marg, den, out=np.zeros(marg.shape), where=den > 0)
        out.append(np.broadcast_to(c, joint.shape))
    return np.stack(out)


def check_counts(fn, name, c, positive_total=False):
    """Counts are finite and >= 0 (NaN propagates, by the NaN rule); with ``positive_total`` each
    row must have a count (a distribution from no counts is 0/0). ``c`` is a float64 NumPy array
    (the PyTorch forms pass one). Shared by the NumPy and PyTorch forms."""
    if c.ndim == 0:
        raise ValueError(f"{fn}: {name} must have a vocabulary axis (shape (..., V)), got a 0-d value")
    if (c < 0).any():
        raise ValueError(f"{fn}: {name} must be counts >= 0, got a negative count {float(c[c < 0].min())!r}")
    if np.isinf(c).any():
        raise ValueError(f"{fn}: {name} must be finite counts, got inf")
    if positive_total:
        total = c.sum(axis=-1)
        if (total == 0).any():
            raise ValueError(f"{fn}: {name} sums to zero (over the last axis): no counts, so no distribution (0/0)")


def unigram_mle(counts):
    """P(w) = count(w) / sum_w count(w)."""
    c = np.asarray(counts, dtype=np.float64)
    check_counts("unigram_mle", "counts", c, positive_total=True)
    return c / c.sum(axis=-1, keepdims=True)


def ngram_mle(counts, context_counts):
    """P(w | h) = count(h, w) / count(h): ``counts`` (H, V), ``context_counts`` (H,); 0/0 gives 0."""
    c = np.asarray(counts, dtype=np.float64)
    d = np.asarray(context_counts, dtype=np.float64)[..., None]
    check_counts("ngram_mle", "counts", c)
    check_counts("ngram_mle", "context_counts", d)
    p = np.divide(c, d, out=np.zeros(np.broadcast_shapes(c.shape, d.shape)), where=d > 0)
    return np.where(np.isnan(c) | np.isnan(d), np.nan, p)  # NaN in, NaN out (never the 0 of an unseen context)


def add_k(counts, context_counts, k, vocab_size):
    """P(w | h) = (count(h, w) + k) / (count(h) + k V)."""
    c = np.asarray(counts, dtype=np.float64)
    d = np.asarray(context_counts, dtype=np.float64)[..., None]
    check_counts("add_k", "counts", c)
    check_counts("add_k", "context_counts", d)
    check_scalar("add_k", "k", k, low=0)  # k < 0 is no smoothing (it can give negative probabilities)
    check_scalar("add_k", "vocab_size", vocab_size, low=1, integer=True)
    if k == 0:  # the MLE, with its convention for an unseen context (0, not 0/0 = NaN)
        return ngram_mle(c, d[..., 0])
    return (c + k) / (d + k * vocab_size)


def interpolate(probabilities, weights):
    """sum_i lambda_i P_i: ``probabilities`` (n_orders, ...), ``weights`` (n_orders,) on the simplex."""
    from reference.numpy.information import PROBABILITY_SUM_TOL

    p = np.asarray(probabilities, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or w.shape[0] != p.shape[0]:
        raise ValueError(f"weights must have one entry per order ({p.shape[0]}), got shape {w.shape}")
    if (w < 0).any() or abs(w.sum() - 1) > PROBABILITY_SUM_TOL:
        raise ValueError(f"weights must be on the simplex (non-negative, summing to 1), got {w.tolist()}")
    return np.tensordot(w, p, axes=1)


def backoff_literal(probabilities, counts):
    """The page's backoff rule taken literally: the highest order whose count is non-zero.

    ``probabilities`` and ``counts`` are (n_orders, ...), highest order first; the last
    order is used when every count is zero. Not renormalised: it need not sum to one.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    c = np.asarray(counts, dtype=np.float64)
    out = p[-1].copy()
    for i in range(p.shape[0] - 2, -1, -1):
        out = np.where(c[i] > 0, p[i], out)
        out = np.where(np.isnan(c[i]), np.nan, out)  # a NaN count: which order applies is unknown
    return out


def check_log_probs(fn, lp):
    """Natural-log probabilities (..., T): a token axis, at least one token, every value <= 0
    (log p > 0 would be a probability above one). -inf (p = 0) is allowed and gives inf; NaN
    propagates. ``lp`` is a float64 NumPy array (the PyTorch forms pass one)."""
    if lp.ndim == 0:
        raise ValueError(f"{fn}: log_probs must have a token axis (shape (..., T)), got a 0-d value; "
                         "pass a list of one value for a single token")
    if lp.shape[-1] == 0:
        raise ValueError(f"{fn}: log_probs is empty: at least one token is needed (the mean of nothing is undefined)")
    if (lp > 0).any():
        raise ValueError(f"{fn}: log_probs must be natural-log probabilities <= 0, got {float(lp[lp > 0].max())!r} "
                         "(a probability above one)")


def sequence_perplexity(log_probs):
    """PPL = exp(-(1/T) sum_t log p_t) from the natural-log probabilities ``log_probs`` (..., T) -> (...).

    (information.perplexity takes the NLLs instead: perplexity(nll) = sequence_perplexity(-nll).)
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    check_log_probs("sequence_perplexity", lp)
    return np.exp(-lp.mean(axis=-1))


def cross_entropy_bits(log_probs):
    """-(1/T) sum_t log2 p_t from natural-log probabilities."""
    lp = np.asarray(log_probs, dtype=np.float64)
    check_log_probs("cross_entropy_bits", lp)
    return -lp.mean(axis=-1) / np.log(2.0)


def check_counts_of_counts(fn, n):
    """n1..n4 for the discounts: shape (..., 4), finite counts >= 0, and n1, n2, n3 > 0 (each D_k divides
    by n_k; KenLM refuses such counts too and offers --discount_fallback). ``n`` is a float64 NumPy array."""
    if n.ndim == 0 or n.shape[-1] != 4:
        raise ValueError(f"counts_of_counts must be (n1, n2, n3, n4), got shape {n.shape}")
    if np.isnan(n).any() or np.isinf(n).any() or (n < 0).any():
        raise ValueError(f"{fn}: counts_of_counts must be finite counts >= 0, got {n.tolist()}")
    zero = [f"n{k + 1}" for k in range(3) if (n[..., k] == 0).any()]
    if zero:
        raise ValueError(f"{fn}: {', '.join(zero)} is 0 in {n.tolist()}: the discounts D_k = k - (k+1) Y n_(k+1)/n_k "
                         "are undefined (0/0); use fixed discounts (lmplz --discount_fallback)")


def _kneser_ney_discounts_formula(counts_of_counts):
    """The formula without the checks (NaN/inf where a count is 0): the estimator tests D itself."""
    n = np.asarray(counts_of_counts, dtype=np.float64)
    n1, n2, n3, n4 = n[..., 0], n[..., 1], n[..., 2], n[..., 3]
    Y = n1 / (n1 + 2 * n2)
    return np.stack([1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3], axis=-1)


def kneser_ney_discounts(counts_of_counts):
    """Chen & Goodman's D1, D2, D3+ from n1..n4: Y = n1/(n1+2 n2), D_k = k - (k+1) Y n_{k+1}/n_k."""
    n = np.asarray(counts_of_counts, dtype=np.float64)
    check_counts_of_counts("kneser_ney_discounts", n)
    n1, n2, n3, n4 = n[..., 0], n[..., 1], n[..., 2], n[..., 3]
    Y = n1 / (n1 + 2 * n2)
    return np.stack([1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3], axis=-1)


def continuation_counts(counts):
    """N1+(. w_2..w_k) = number of distinct words seen before, from ``counts[w_1, ..., w_k]`` (axis 0)."""
    c = np.asarray(counts, dtype=np.float64)
    n = (c > 0).sum(axis=0).astype(np.float64)
    return np.where(np.isnan(c).any(axis=0), np.nan, n)  # a NaN count is neither seen nor unseen


def check_discounts(fn, D):
    """(D1, D2, D3+): three finite discounts >= 0 (a NaN one would be used only where a count falls in its band,
    so a NaN could go unseen). ``D`` is a float64 NumPy array; shared by both forms."""
    if D.shape != (3,) or not np.all(np.isfinite(D)) or (D < 0).any():
        raise ValueError(f"{fn}: discounts must be three finite numbers >= 0 (D1, D2, D3+), got {D.tolist()}")


def kneser_ney_interpolate(counts, lower, discounts):
    """One order of interpolated (modified) Kneser-Ney.

    ``counts`` (H, V): the (adjusted) counts a(h w); ``lower`` (H, V): p(w | h') for each
    context's shortened context; ``discounts`` (3,): D1, D2, D3+ (equal for one discount).
    p(w|h) = (a(hw) - D(a(hw)))/sum_x a(hx) + gamma(h) p(w|h'), with
    gamma(h) = sum_x D(a(hx)) / sum_x a(hx); a context never seen (sum 0) backs off
    entirely: p(w|h) = p(w|h').
    """
    a = np.asarray(counts, dtype=np.float64)
    q = np.asarray(lower, dtype=np.float64)
    D = np.asarray(discounts, dtype=np.float64)
    check_discounts("kneser_ney_interpolate", D)
    D1, D2, D3 = D
    d = np.where(a <= 0, 0.0, np.where(a < 2, D1, np.where(a < 3, D2, D3)))
    total = a.sum(axis=-1, keepdims=True)
    safe = np.where(total > 0, total, 1.0)
    gamma = np.where(total > 0, d.sum(axis=-1, keepdims=True) / safe, 1.0)
    return (a - d) / safe + gamma * q


# =====================================================================================
# 2. Count tables as the page's code builds them (dict form), and dense corpora helpers
# =====================================================================================


def pad(sentence: str | Sequence[str]) -> list[str]:
    """``<s> w1 .. wk </s>`` from a whitespace-tokenised sentence (lower-cased, as the page's code)."""
    toks = sentence.lower().split() if isinstance(sentence, str) else [t.lower() for t in sentence]
    return [BOS] + toks + [EOS]


def ngram_counts(sentences: Iterable[Sequence[str]], n: int) -> tuple[Counter, Counter]:
    """(count of each n-gram, count of each context *as the first n-1 words of an n-gram*)."""
    grams: Counter = Counter()
    contexts: Counter = Counter()
    for toks in sentences:
        toks = list(toks)
        for i in range(len(toks) - n + 1):
            g = tuple(toks[i:i + n])
            grams[g] += 1
            contexts[g[:-1]] += 1
    return grams, contexts


def token_counts(sentences: Iterable[Sequence[str]]) -> Counter:
    """Plain unigram counts (the page's other denominator convention)."""
    c: Counter = Counter()
    for toks in sentences:
        c.update(toks)
    return c


# =====================================================================================
# 3. Sparse, vectorised Kneser-Ney that reproduces KenLM's lmplz
# =====================================================================================


class DiscountError(ValueError):
    """Discounts cannot be estimated from the counts of counts (KenLM's --discount_fallback case)."""


FALLBACK_DISCOUNTS = (0.5, 1.0, 1.5)


#: sentences encoded per chunk: the Python strings of one chunk at a time are alive, never the corpus's
_CHUNK_SENTENCES = 1 << 14


@dataclass
class Corpus:
    """A corpus as integer ids: ``words[0..2]`` are <unk>, <s>, </s>; ``stream`` is the padded id sequence
    ``<s> w .. </s> <s> ... </s>`` (int32)."""

    words: list[str]
    index: dict[str, int]
    stream: np.ndarray

    @property
    def length(self) -> np.ndarray:
        """Padded length of the sentence each stream element belongs to (computed on demand)."""
        ends = np.flatnonzero(self.stream == 2) + 1
        plen = np.diff(ends, prepend=0)
        return np.repeat(plen, plen)

    @property
    def offset(self) -> np.ndarray:
        """Position of each stream element within its padded sentence (computed on demand)."""
        ends = np.flatnonzero(self.stream == 2) + 1
        plen = np.diff(ends, prepend=0)
        return np.arange(len(self.stream), dtype=np.int64) - np.repeat(ends - plen, plen)


_WHITESPACE = re.compile(r"\s")


def _check_tokens(toks: list, n: int) -> None:
    """Tokens of a pre-tokenised sentence: non-empty strings without whitespace (an ARPA file separates its
    fields by whitespace, so such a token would be written as two words and not read back)."""
    for t in toks:
        if not isinstance(t, str):
            raise ValueError(f"sentences[{n}]: token {t!r} is {type(t).__name__}, expected str (sentence {toks!r})")
        if not t or _WHITESPACE.search(t):
            raise ValueError(f"sentences[{n}]: token {t!r} is empty or contains whitespace; an ARPA file separates "
                             f"words by whitespace (join it, e.g. {t.strip().replace(' ', '_')!r}) (sentence {toks!r})")


def encode_corpus(sentences: Iterable[str | Sequence[str]]) -> Corpus:
    """Ids for a corpus: one sentence per item (a string is split on whitespace); empty ones are skipped.

    Ids follow first appearance after ``<unk>``=0, ``<s>``=1, ``</s>``=2 (KenLM's order). The
    sentences are consumed in chunks (an open text file works: one line per sentence), so only
    one chunk's Python strings are alive at a time; the corpus itself is kept as int32 ids.
    """
    if isinstance(sentences, (str, bytes)):
        raise ValueError("sentences: got one string, expected a collection of sentences (a list of strings or of "
                         "token lists); a string would be read one character per sentence - use text.splitlines()")
    index = {UNK: 0, BOS: 1, EOS: 2}
    id_parts: list[np.ndarray] = []
    len_parts: list[np.ndarray] = []
    it = iter(sentences)
    base = 0
    while True:
        chunk = list(islice(it, _CHUNK_SENTENCES))
        if not chunk:
            break
        if all(type(s) is str for s in chunk):
            split = list(map(str.split, chunk))
        else:
            split = []
            for n, s in enumerate(chunk, start=base):
                if isinstance(s, str):
                    split.append(s.split())
                else:
                    toks = list(s)
                    _check_tokens(toks, n)
                    split.append(toks)
        base += len(chunk)
        del chunk
        lens = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        flat = list(chain.from_iterable(split))
        del split
        get = index.get
        new = [w for w in dict.fromkeys(flat) if get(w) is None]  # one Python step per new type, not per token
        index.update(zip(new, range(len(index), len(index) + len(new))))
        ids = np.fromiter(map(index.__getitem__, flat), dtype=np.int32, count=len(flat))
        del flat
        id_parts.append(ids)
        len_parts.append(lens[lens > 0])
    return _assemble(index, id_parts, len_parts)


def _assemble(index: dict[str, int], id_parts: list[np.ndarray], len_parts: list[np.ndarray]) -> Corpus:
    """The padded int32 stream from the ids of the tokens and the lengths of the non-empty sentences."""
    lengths = np.concatenate(len_parts) if len_parts else np.zeros(0, dtype=np.int64)
    if not len(lengths):
        raise ValueError("sentences: the corpus has no non-empty sentence")
    ids = np.concatenate(id_parts)
    del id_parts[:]
    if len(index) >= 2**31 - 1:
        raise ValueError(f"sentences: {len(index)} word types exceed the int32 ids of the encoded corpus")
    if ((ids == 1) | (ids == 2)).any():
        raise ValueError(f"sentences: the words {BOS!r} and {EOS!r} are added by padding and must not "
                         "appear inside a sentence")
    plen = lengths + 2
    ends = np.cumsum(plen)
    total = int(ends[-1])
    stream = np.empty(total, dtype=np.int32)
    inner = np.ones(total, dtype=bool)
    inner[ends - plen] = False
    inner[ends - 1] = False
    stream[inner] = ids
    del inner, ids
    stream[ends - plen] = 1
    stream[ends - 1] = 2
    words = list(index)  # dicts keep insertion order: words[i] has id i
    return Corpus(words=words, index=index, stream=stream)


# -- reading a corpus file as bytes: no Python object per token ------------------------------------

_READ_BYTES = 1 << 22

#: with the fast extra, a corpus file of this many bytes (or of unknown size) is read by the compiled loop and
#: a stream of this many ids counted by it; smaller ones take the NumPy paths (loading compiled code, some
#: 0.1 s, and compiling it on a cold cache, do not pay there)
_COMPILED_READ_AT = 1 << 20
_COMPILED_AT_TOKENS = 1 << 16


class _Vocabulary:
    """Word ids in first-appearance order, shared by the str and the bytes paths of one corpus."""

    def __init__(self) -> None:
        self.index = {UNK: 0, BOS: 1, EOS: 2}
        # sorted packed keys (and ids) of the short words seen by the bytes path, the three specials first
        keys = _pack([w.encode() for w in self.index])
        o = np.argsort(keys)
        self.packed, self.packed_ids = keys[o], np.arange(3, dtype=np.int64)[o]
        self.str_path_used = False

    def encode_lines(self, lines: list[str]) -> tuple[np.ndarray, np.ndarray]:
        self.str_path_used = True
        split = list(map(str.split, lines))
        lens = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
        flat = list(chain.from_iterable(split))
        del split
        index = self.index
        get = index.get
        new = [w for w in dict.fromkeys(flat) if get(w) is None]
        index.update(zip(new, range(len(index), len(index) + len(new))))
        ids = np.fromiter(map(index.__getitem__, flat), dtype=np.int32, count=len(flat))
        return ids, lens

    def encode_bytes(self, c: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the tokens and token count of each line of ``c`` (lines end at b'\\n')."""
        b = np.frombuffer(c, dtype=np.uint8)
        if _has_other_whitespace(b):
            return self.encode_lines(c.decode("utf-8").split("\n"))
        n_lines = int(np.count_nonzero(b == 10)) + (1 if not len(b) or b[-1] != 10 else 0)
        starts, ends, lens, short, keys = _tokenize(b, n_lines)
        tl = ends - starts
        ids = np.empty(len(starts), dtype=np.int32)
        perm = np.argsort(keys)
        sk = keys[perm]
        del keys
        run_starts, run_len = _sorted_runs(sk)
        uk = sk[run_starts]
        del sk
        first = np.minimum.reduceat(perm, run_starts) if len(perm) else np.zeros(0, dtype=np.int64)
        # known words: a merge against the sorted keys seen before
        pos = np.minimum(np.searchsorted(self.packed, uk), len(self.packed) - 1)
        known = self.packed[pos] == uk
        gid = np.where(known, self.packed_ids[pos], -1)
        fresh = np.flatnonzero(~known)
        fresh_words = [w.decode("utf-8") for w in uk[fresh].astype(">u8").view("S8").tolist()]
        fresh_pos = starts[short[first[fresh]]]
        index = self.index
        get = index.get
        if self.str_path_used:  # a word new to the packed table may have been seen as a str
            seen = np.fromiter((get(w, -1) for w in fresh_words), dtype=np.int64, count=len(fresh_words))
        else:
            seen = np.full(len(fresh_words), -1, dtype=np.int64)
        # the long tokens: one Python step each (rare in most text)
        long_ = np.flatnonzero(tl > _PACK)
        long_words = [c[x:y].decode("utf-8") for x, y in zip(starts[long_].tolist(), ends[long_].tolist())]
        long_new: dict[str, int] = {}
        for p, w in zip(starts[long_].tolist(), long_words):
            if w not in long_new and get(w) is None:
                long_new[w] = p
        # new words get ids in order of first appearance
        new_short = np.flatnonzero(seen < 0)
        order_pos = np.concatenate([fresh_pos[new_short], np.fromiter(long_new.values(), dtype=np.int64,
                                                                      count=len(long_new))])
        o = np.argsort(order_pos, kind="stable")
        new_ids = np.empty(len(o), dtype=np.int64)
        new_ids[o] = np.arange(len(index), len(index) + len(o))
        all_new = [fresh_words[j] for j in new_short.tolist()] + list(long_new)
        index.update(zip([all_new[j] for j in o.tolist()], range(len(index), len(index) + len(o))))
        seen[new_short] = new_ids[: len(new_short)]
        gid[fresh] = seen
        if len(fresh):
            self.packed = np.concatenate([self.packed, uk[fresh]])
            self.packed_ids = np.concatenate([self.packed_ids, seen])
            o = np.argsort(self.packed)
            self.packed, self.packed_ids = self.packed[o], self.packed_ids[o]
        ids[short[perm]] = np.repeat(gid, run_len)
        ids[long_] = np.fromiter(map(index.__getitem__, long_words), dtype=np.int32, count=len(long_words))
        return ids, lens


class _CompiledVocabulary:
    """:class:`_Vocabulary` with the tokens turned into ids by compiled loops (reference/_arpa_jit.py, the ``fast``
    extra): one pass over the bytes with a hash table of the words' bytes; only new words become Python strings.
    Blocks with whitespace beyond ASCII's (or NUL bytes) take the str path, and their new words enter the table
    in the same order, so the ids are those of :func:`encode_corpus` either way."""

    def __init__(self, jit) -> None:
        self.jit = jit
        self.index = {UNK: 0, BOS: 1, EOS: 2}
        self.table = np.full(1 << 12, -1, dtype=np.int64)
        self.wstart = np.zeros(1 << 10, dtype=np.int64)
        self.wlen = np.zeros(1 << 10, dtype=np.int64)
        self.wpool = np.zeros(1 << 12, dtype=np.uint8)
        self.n_words = self.pool_used = 0
        for w in self.index:
            self._add(w.encode("utf-8"))

    def _encode(self, b: np.ndarray, n_lines: int):
        ids, per_line, self.table, self.wstart, self.wlen, self.wpool, self.n_words, self.pool_used = \
            self.jit.encode_text(b, n_lines, self.table, self.wstart, self.wlen, self.wpool, self.n_words,
                                 self.pool_used)
        return ids, per_line

    def _add(self, word: bytes) -> None:
        self._encode(np.frombuffer(word, dtype=np.uint8), 1)

    def encode_bytes(self, c: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the tokens and token count of each line of ``c`` (lines end at b'\\n')."""
        b = np.frombuffer(c, dtype=np.uint8)
        index = self.index
        if _has_other_whitespace(b):
            split = list(map(str.split, c.decode("utf-8").split("\n")))
            lens = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
            flat = list(chain.from_iterable(split))
            get = index.get
            for w in dict.fromkeys(flat):
                if get(w) is None:
                    index[w] = len(index)
                    self._add(w.encode("utf-8"))
            return np.fromiter(map(index.__getitem__, flat), dtype=np.int32, count=len(flat)), lens
        n_lines = int(np.count_nonzero(b == 10)) + (1 if not len(b) or b[-1] != 10 else 0)
        before = self.n_words
        ids, lens = self._encode(b, n_lines)
        if self.n_words > before:
            pool = self.wpool[: self.pool_used].tobytes()
            st, ln = self.wstart[before: self.n_words].tolist(), self.wlen[before: self.n_words].tolist()
            new = [pool[a: a + n].decode("utf-8") for a, n in zip(st, ln)]
            index.update(zip(new, range(before, self.n_words)))
        return ids, lens


def read_corpus(source) -> Corpus:
    """A corpus from a text file (a path, ``"-"`` for standard input, or a binary file object): one
    sentence per line (lines end at ``\\n``, as lmplz reads them), UTF-8, tokens separated by whitespace.

    A gzip file (by its magic bytes) is decompressed as it is read. Equal to ``encode_corpus(lines)``; the file is read 4 MiB at a time and tokens of up to 8 bytes
    are turned into ids without a Python object each (packed into integer keys, sorted, merged with
    the vocabulary seen so far), so time and memory grow linearly with the corpus.
    """
    import sys

    if isinstance(source, (str, os.PathLike)):
        if os.fspath(source) == "-":
            return read_corpus(sys.stdin.buffer)
        with open(source, "rb") as f:
            return read_corpus(f)
    peek = getattr(source, "peek", None)
    if peek is not None and peek(2)[:2] == b"\x1f\x8b":  # gzip, which lmplz also reads transparently
        import gzip
        import zlib

        try:
            with gzip.GzipFile(fileobj=source, mode="rb") as g:
                return read_corpus(g)
        except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
            raise ValueError(f"a gzip file that does not decompress ({type(exc).__name__}: {exc}); "
                             "is it truncated or damaged?") from None
    from reference import arpa_walk

    import stat

    try:
        st = os.fstat(source.fileno())
        size = st.st_size if stat.S_ISREG(st.st_mode) else None  # a pipe: unknown
    except (AttributeError, OSError, ValueError):  # no file descriptor (e.g. io.BytesIO): size unknown
        size = None
    jit = arpa_walk._jit() if size is None or size >= _COMPILED_READ_AT else None
    vocab = _CompiledVocabulary(jit) if jit is not None else _Vocabulary()
    id_parts: list[np.ndarray] = []
    len_parts: list[np.ndarray] = []
    pending: list[bytes] = []  # the start of a line longer than the blocks read so far
    while True:
        block = source.read(_READ_BYTES)
        if isinstance(block, str):
            raise ValueError("read_corpus: the file is open in text mode; open it with 'rb'")
        if not block:
            cut, pending = b"".join(pending), []
        else:
            nl = block.rfind(b"\n")
            if nl < 0:
                pending.append(block)
                continue
            cut = b"".join(pending + [block[: nl + 1]]) if pending else block[: nl + 1]
            pending = [block[nl + 1:]] if nl + 1 < len(block) else []
        if cut:
            try:
                ids, lens = vocab.encode_bytes(cut)
            except UnicodeDecodeError as exc:
                raise ValueError(f"the corpus is not UTF-8 text ({exc.reason} in {exc.object[exc.start:exc.end]!r});"
                                 " convert it (e.g. iconv -f latin1 -t utf-8)") from None
            id_parts.append(ids)
            len_parts.append(lens[lens > 0])
        if not block:
            break
    return _assemble(vocab.index, id_parts, len_parts)


def _sorted_runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start of each run of equal values in a sorted array, and each run's length."""
    n = len(sorted_keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1])
    starts += 1
    starts = np.concatenate([np.zeros(1, dtype=np.int64), starts])
    return starts, np.diff(starts, append=n)


#: indexes, ranks and counts below this bound are kept as int32 (half the memory of int64); a table that could
#: reach it (more positions or n-grams than that) keeps int64. A module constant so that tests can lower it.
_INT32_BOUND = 2**31


def _index_dtype(bound: int):
    """int32 where every value is known to be < ``bound`` and that fits int32, else int64."""
    return np.int32 if bound < _INT32_BOUND else np.int64


def _narrow(a: np.ndarray, bound: int) -> np.ndarray:
    """``a`` (values in 0 .. bound-1) as :func:`_index_dtype`'s type (a copy only where the type changes)."""
    return a.astype(_index_dtype(bound), copy=False)


def _take(stream):
    """The ids ``stream``, taken out of the list holding them where it is one."""
    return stream.pop() if isinstance(stream, list) else stream


def _count_ngrams_mixed_radix(stream: np.ndarray, V: int, order: int):
    """Per order k >= 2: (keys, raw counts, suffix index, starts with <s>) of the distinct k-grams, keys in the
    BackoffModel form ``prefix index * V + last word``, sorted (int64: the prefix index is ``key // V``, not
    kept); counts and indexes are int32 where they fit (:func:`_index_dtype`), else int64. ``stream``: the
    corpus's ids, or a list holding them, emptied here (:func:`_take`) so that the ids can be freed once the
    last order's k-grams are taken.

    Each k-gram at a position is one int64 ``w1 V^(k-1) + ... + wk`` (requires V^order < 2^63); the
    keys of all positions are sorted once (SIMD sort) and counted by runs; everything after that
    works on the distinct k-grams only.
    """
    from reference import arpa_walk

    stream = _take(stream)
    L = len(stream)
    jit = arpa_walk._jit() if L >= _COMPILED_AT_TOKENS else None
    if jit is None:
        full = stream.astype(np.int64)  # w1 V^(k-1) + ... + wk of the k-gram starting at each position
        valid = np.ones(L, dtype=bool)
    prev = np.arange(V, dtype=np.int64)  # mixed-radix keys of the distinct (k-1)-grams, sorted
    out = []
    for k in range(2, order + 1):
        if jit is not None:  # the keys of the valid positions only, computed in one pass: no array of all
            grams = jit.kgram_keys(stream, k, V)
        else:
            n = L - k + 1
            valid = valid[:n]
            valid &= stream[k - 2: k - 2 + n] != 2
            full = full[:n]
            full *= V
            full += stream[k - 1: k - 1 + n]
            grams = full[valid]
            if k == order:
                del full, valid
        if k == order:
            del stream
        grams.sort()
        if jit is not None:  # the distinct keys and their counts in one pass, without the run starts
            uniq, raw = jit.sorted_runs(grams)
            del grams
        else:
            starts, raw = _sorted_runs(grams)
            uniq = grams[starts]
            del grams, starts
        raw = _narrow(raw, L + 1)  # a count is at most the number of positions
        radix = V ** (k - 1)
        bos = (uniq >= radix) & (uniq < 2 * radix)  # the first word is <s> (id 1)
        key = uniq // V
        key[:] = np.searchsorted(prev, key)  # the prefix index; sorted needles: a merge, not random probes
        key *= V
        key += uniq % V
        if k == 2:
            suffix = _narrow(uniq % V, V)
        else:
            suf = uniq % radix
            if k == order:  # not a prefix of anything: the distinct keys are not needed past here
                del uniq
            perm = np.argsort(suf)
            suf = suf[perm]
            found = np.searchsorted(prev, suf)
            del suf
            suffix = np.empty(len(key), dtype=_index_dtype(len(prev)))
            suffix[perm] = found
            del perm, found
        out.append((key, raw, suffix, bos))
        if k < order:
            prev = uniq
            del uniq
    return out


def _count_ngrams_successive(stream: np.ndarray, V: int, order: int):
    """As :func:`_count_ngrams_mixed_radix`, for any V and order: the k-gram at a position is
    ``rank of its (k-1)-gram prefix * V + last word``, so every position keeps its rank per order
    (int32 where the positions fit, as the positions themselves and the sort's permutation)."""
    from reference import arpa_walk

    stream = _take(stream)
    L = len(stream)
    jit = arpa_walk._jit() if L >= _COMPILED_AT_TOKENS else None
    idx = _index_dtype(L + 1)  # positions, ranks (< L) and -1
    rank_prev = stream  # the rank of each position's 1-gram is its word id (int32)
    valid = np.ones(L, dtype=bool)
    bos_prev = np.arange(V) == 1
    out = []
    for k in range(2, order + 1):
        n = L - k + 1
        valid = valid[:n]
        valid &= stream[k - 2: k - 2 + n] != 2
        pos = np.flatnonzero(valid).astype(idx, copy=False)
        keyp = rank_prev[pos].astype(np.int64)
        keyp *= V
        keyp += stream[pos + (k - 1)]
        if k == order:
            del stream
        if jit is not None and idx is np.int32:  # a radix sort in keyp's own memory, int32 permutation
            grams, perm = jit.radix_argsort_inplace(keyp)
        elif jit is not None:  # a radix sort: the sorted keys and their (stable) permutation in a few passes
            grams, perm = jit.radix_argsort(keyp)
        else:
            perm = np.argsort(keyp)
            grams = keyp[perm]
        del keyp
        if jit is not None:
            key, raw = jit.sorted_runs(grams)
        else:
            starts, raw = _sorted_runs(grams)
            key = grams[starts]
            del starts
        del grams
        m = len(key)
        raw = _narrow(raw, L + 1)
        starts = np.cumsum(raw, dtype=idx)  # at most n <= L
        starts -= raw
        pos = pos[perm]  # the positions in the order of their k-grams
        del perm
        first = pos[starts]  # one occurrence of each k-gram
        rank = np.full(L, -1, dtype=idx)
        for g in range(0, m, _GATHER_BLOCK):  # the rank of every position, a block of k-grams at a time
            h = min(m, g + _GATHER_BLOCK)
            rank[pos[starts[g]: starts[h] if h < m else len(pos)]] = np.repeat(np.arange(g, h, dtype=idx), raw[g:h])
        del pos, starts
        first += 1
        suffix = _narrow(rank_prev[first], L + 1)  # every occurrence of a k-gram has the same suffix
        del first
        bos = bos_prev[key // V]  # the prefix index is key // V
        out.append((key, raw, suffix, bos))
        rank_prev, bos_prev = rank, bos
    return out


@dataclass
class KneserNeyStatistics:
    """What lmplz prints: per order, the counts of counts n1..n4 of the adjusted counts and D1, D2, D3+."""

    counts_of_counts: list[tuple[int, int, int, int]]
    discounts: list[tuple[float, float, float]]
    fallback: list[bool]


def estimate_kneser_ney(sentences: Iterable[str | Sequence[str]] | Corpus, order: int, *,
                        discounts: str | Sequence[Sequence[float]] | None = "modified",
                        interpolate_unigrams: bool = True, discount_fallback: bool = False,
                        return_statistics: bool = False):
    """Interpolated Kneser-Ney of any ``order`` >= 1, following KenLM's lmplz exactly.

    ``discounts``: ``"modified"`` (three per order, Chen & Goodman, estimated as lmplz
    does), ``"single"`` (one per order, D = n1/(n1 + 2 n2), interpolated Kneser-Ney), or
    explicit per-order triples ``[(D1, D2, D3+), ...]`` (lowest order first).
    ``interpolate_unigrams=False`` is lmplz's ``--interpolate_unigrams 0``: the unigram
    mass removed by discounting goes to ``<unk>`` instead of the uniform distribution.
    ``discount_fallback`` substitutes 0.5, 1, 1.5 where an order's discounts cannot be
    estimated (lmplz's ``--discount_fallback``); without it that raises DiscountError.
    """
    _check_order(order)
    corpus = sentences if isinstance(sentences, Corpus) else encode_corpus(sentences)
    keys, stats, orders = _kneser_ney(corpus, order, discounts, interpolate_unigrams, discount_fallback, False)
    logprob, backoff = [], []
    for _, lp, bo in orders:
        logprob.append(lp)
        backoff.append(bo)
    model = BackoffModel(words=list(corpus.words), keys=keys, logprob=logprob, backoff=backoff,
                         index=dict(corpus.index))
    if return_statistics:
        return model, stats
    return model


def write_kneser_ney_arpa(corpus: Corpus, order: int, path, *, discounts: str | Sequence[Sequence[float]] | None
                          = "modified", interpolate_unigrams: bool = True, discount_fallback: bool = False,
                          release_stream: bool = False, before_write=None) -> KneserNeyStatistics:
    """:func:`estimate_kneser_ney` written straight to an ARPA file (``path``: a name or a binary file object),
    the same bytes as ``write_arpa(estimate_kneser_ney(...), path)``, with less memory: each order's values are
    written as soon as they are final (order k once order k+1's interpolation gives its back-off weights) and
    freed, and no :class:`BackoffModel` is built. ``release_stream``: set ``corpus.stream`` to None once the
    n-grams are counted (the caller no longer needs it). ``before_write(counts, stats)`` is called once the
    n-gram counts per order and the statistics are known, before the file is opened (nothing is written
    where the discounts cannot be estimated). Returns the statistics."""
    from reference.arpa import write_arpa_orders

    _check_order(order)
    keys, stats, orders = _kneser_ney(corpus, order, discounts, interpolate_unigrams, discount_fallback,
                                      release_stream)
    if before_write is not None:
        before_write([len(x) for x in keys], stats)
    write_arpa_orders(corpus.words, keys, orders, path)
    return stats


def _check_order(order) -> None:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be an integer >= 1, got {order!r}")


#: n-grams per block (about) where the interpolation works a block at a time: its temporaries (discounts,
#: gathered values of the contexts and of the lower order) are of a block's size, not of the order's
_GATHER_BLOCK = 1 << 20


def _context_blocks(keys: np.ndarray, V: int) -> list[tuple[int, int]]:
    """(start, end) of blocks of about ``_GATHER_BLOCK`` elements of the sorted ``keys`` that cover them, each
    cut where a context ``key // V`` begins (a context's keys are never split); none for no keys."""
    n = len(keys)
    out = []
    s = 0
    while s < n:
        e = min(n, s + _GATHER_BLOCK)
        if e < n:
            cut = int(np.searchsorted(keys, keys[e] // V * V, side="left"))  # where the context of e begins
            e = cut if cut > s else int(np.searchsorted(keys, (keys[s] // V + 1) * V, side="left"))
        out.append((s, e))
        s = e
    return out


def _kneser_ney(corpus: Corpus, order: int, discounts, interpolate_unigrams: bool, discount_fallback: bool,
                release_stream: bool):
    """(keys per order, statistics, a generator of ``(k, log10 p, log10 back-off)`` for k = 1 .. order).

    The counting and the discounts happen before this returns (a DiscountError is raised here); the generator
    interpolates, lowest order first, and hands out order k as soon as order k+1 has given its back-off
    weights, keeping no reference to it."""
    V = len(corpus.words)
    L = len(corpus.stream)
    raw1 = np.bincount(corpus.stream, minlength=V)
    box = [corpus.stream]  # emptied by the counting: where the corpus lets go too, the ids are freed early
    if release_stream:
        corpus.stream = None

    # --- n-gram tables per order: keys (sorted), raw counts, suffix index, <s>-initial -----------------
    if V ** order < 2**63:
        tables = _count_ngrams_mixed_radix(box, V, order)
    else:
        tables = _count_ngrams_successive(box, V, order)
    keys = [np.arange(V, dtype=np.int64)] + [t[0] for t in tables]
    raw = [raw1] + [t[1] for t in tables]
    del raw1
    suffix = [None] + [t[2] for t in tables]
    bos_start = [np.arange(V) == 1] + [t[3] for t in tables]
    del tables

    # --- adjusted counts (whole numbers, int32 where they fit): distinct left extensions, raw for the highest
    # order and <s>-initial
    adjusted = []
    for k in range(1, order + 1):
        if k == order:
            a = _narrow(raw[k - 1], L + 1)
        else:
            a = _narrow(np.bincount(suffix[k], minlength=len(keys[k - 1])), L + 1)
            a[bos_start[k - 1]] = raw[k - 1][bos_start[k - 1]]
        raw[k - 1] = None
        bos_start[k - 1] = None
        adjusted.append(a)
    del raw, bos_start
    adjusted[0][1] = 0  # <s> is never predicted
    adjusted[0][0] = 0  # <unk> has count zero

    # --- discounts per order ----------------------------------------------------------------
    stats_n, stats_d, stats_fb = [], [], []
    for k in range(1, order + 1):
        a = adjusted[k - 1]
        sel = a[2:] if k == 1 else a  # drop <unk>, <s> from the unigram statistics
        n = tuple(int(np.count_nonzero(sel == j)) for j in (1, 2, 3, 4))
        fb = False
        if isinstance(discounts, str):
            if discounts not in ("modified", "single"):
                raise ValueError(f"discounts must be 'modified', 'single' or per-order triples, got {discounts!r}")
            with np.errstate(divide="ignore", invalid="ignore"):
                if discounts == "modified":
                    D = tuple(float(x) for x in _kneser_ney_discounts_formula(np.asarray(n, dtype=np.float64)))
                else:
                    y = n[0] / (n[0] + 2 * n[1]) if n[0] + 2 * n[1] > 0 else float("nan")
                    D = (y, y, y)
            bad = (0 in (n[0], n[1], n[2]) if discounts == "modified" else 0 in (n[0], n[1])) or not all(
                np.isfinite(D[j]) and 0 <= D[j] <= j + 1 for j in range(3))
            if bad:
                if not discount_fallback:
                    raise DiscountError(
                        f"order {k}: cannot estimate discounts from counts of counts n1..n4={n} "
                        f"(got D={D}); pass discount_fallback=True to use {FALLBACK_DISCOUNTS}")
                D = FALLBACK_DISCOUNTS if discounts == "modified" else (0.5, 0.5, 0.5)
                fb = True
        else:
            given = list(discounts)
            if len(given) != order:
                raise ValueError(f"discounts: expected {order} per-order triples, got {len(given)}")
            D = tuple(float(x) for x in given[k - 1])
            if len(D) != 3:
                raise ValueError(f"discounts[{k - 1}] must be (D1, D2, D3+), got {given[k - 1]!r}")
        stats_n.append(n)
        stats_d.append(D)
        stats_fb.append(fb)
    stats = KneserNeyStatistics(stats_n, stats_d, stats_fb)
    orders = _interpolate(keys, adjusted, suffix, stats_d, V, interpolate_unigrams)
    return keys, stats, orders


def _interpolate(keys, adjusted, suffix, stats_d, V, interpolate_unigrams):
    """The generator of :func:`_kneser_ney`: it owns the lists ``adjusted`` and ``suffix`` and empties them as it
    goes. The context of a k-gram (its prefix index) is ``key // V``."""
    order = len(keys)

    def discount_of(a, D):
        # a holds whole counts >= 0: 0 -> 0, 1 -> D1, 2 -> D2, 3+ -> D3+
        return np.array([0.0, D[0], D[1], D[2]])[np.minimum(a, 3)]

    n_ctx_types = V - 1  # |V| excludes <s>
    d = discount_of(adjusted[0], stats_d[0])
    a = adjusted[0].astype(np.float64)
    adjusted[0] = None
    total = a.sum()
    gamma0 = d.sum() / total
    p = (a - d) / total
    del a, d
    if interpolate_unigrams:
        p = p + gamma0 / n_ctx_types
    else:
        p[0] += gamma0
    p[1] = 1.0  # <s>: written as log10 p = 0, never predicted
    lower = p
    del p
    # discounts of exactly 0 or D = a can give p = 0 or gamma = 0: log10 0 = -inf is intended
    for k in range(2, order + 1):
        count = adjusted[k - 1]
        adjusted[k - 1] = None
        key, suf = keys[k - 1], suffix[k - 1]
        suffix[k - 1] = None
        m = len(keys[k - 2])
        D = stats_d[k - 1]
        # per context: the sum of the counts and of the discounts, then p = (a - d) / total + gamma * p_lower.
        # The contexts (prefix indexes) are sorted, so blocks cut where a context begins hold every n-gram of
        # theirs: a block's bincount adds each context's values in the same order as one bincount of the whole
        # (from 0.0), so the sums are those bits, without temporaries of the order's size
        p = np.empty(len(count), dtype=np.float64)
        total = np.zeros(m)
        dsum = np.zeros(m)
        blocks = _context_blocks(key, V)
        a = d = c = None
        for s, e in blocks:
            c = key[s:e] // V
            lo = int(c[0])
            c -= lo
            a = count[s:e]
            d = discount_of(a, D)
            p[s:e] = a
            hi = lo + int(c[-1]) + 1  # the contexts of this block, of no other
            total[lo:hi] = np.bincount(c, weights=p[s:e])
            dsum[lo:hi] = np.bincount(c, weights=d)
            p[s:e] -= d
        del count, a, d, c
        nonzero = total > 0
        safe = total  # total where it is > 0, else 1
        safe[~nonzero] = 1.0
        gamma = dsum  # dsum / total where total > 0, else 1
        gamma /= safe
        gamma[~nonzero] = 1.0
        del total, dsum, nonzero
        c = None
        for s, e in blocks:
            c = key[s:e] // V
            p[s:e] /= safe[c]
            p[s:e] += gamma[c] * lower[suf[s:e]]
        del key, suf, c, safe, blocks
        with np.errstate(divide="ignore"):  # n-grams that are never a context (<unk>, ending in </s>): gamma 1
            lp = np.log10(lower, out=lower)
            bo = np.log10(gamma, out=gamma)
        del lower, gamma
        yield k - 1, lp, bo
        del lp, bo
        lower = p
        del p
    with np.errstate(divide="ignore"):
        lp = np.log10(lower, out=lower)
    del lower
    yield order, lp, np.zeros(len(keys[order - 1]))
