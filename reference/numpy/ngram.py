"""NumPy float64 references for the ngram topic (language_modeling_basics.md).

Two parts:

1. The equations, one short function each, with the same names and parameters
   as ``specs/ngram.py`` (SymPy) and ``reference/torch/ngram.py``. They work on
   dense arrays: a count table ``counts[h, w]`` has one row per context.
2. A vectorised, sparse Kneser-Ney estimator (:func:`estimate_kneser_ney`) that
   follows KenLM's ``lmplz`` conventions exactly (see ``docs/ngram.md`` and
   ``tests/data/kenlm/PROVENANCE.md``) and returns a
   :class:`reference.arpa.BackoffModel`. n-grams are integer keys; counting is
   ``np.unique`` / ``np.bincount``; nothing loops over n-grams in Python.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
import re
from typing import Iterable, Sequence

import numpy as np

from reference.arpa import BOS, EOS, UNK, BackoffModel
from reference.numpy.information import PROBABILITY_SUM_TOL

# =====================================================================================
# 1. Equations (dense): same names and signatures in specs/ and reference/torch/
# =====================================================================================


def _probabilities(p, name: str) -> np.ndarray:
    """p as float64; ValueError naming ``name`` unless every entry is in [0, 1 + PROBABILITY_SUM_TOL] (no NaN).

    The same threshold as the information topic's distributions (reference/numpy/information.py).
    """
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


def unigram_mle(counts):
    """P(w) = count(w) / sum_w count(w)."""
    c = np.asarray(counts, dtype=np.float64)
    return c / c.sum(axis=-1, keepdims=True)


def ngram_mle(counts, context_counts):
    """P(w | h) = count(h, w) / count(h): ``counts`` (H, V), ``context_counts`` (H,); 0/0 gives 0."""
    c = np.asarray(counts, dtype=np.float64)
    d = np.asarray(context_counts, dtype=np.float64)[..., None]
    return np.divide(c, d, out=np.zeros(np.broadcast_shapes(c.shape, d.shape)), where=d > 0)


def add_k(counts, context_counts, k, vocab_size):
    """P(w | h) = (count(h, w) + k) / (count(h) + k V)."""
    c = np.asarray(counts, dtype=np.float64)
    d = np.asarray(context_counts, dtype=np.float64)[..., None]
    return (c + k) / (d + k * vocab_size)


def interpolate(probabilities, weights):
    """sum_i lambda_i P_i: ``probabilities`` (n_orders, ...), ``weights`` (n_orders,) on the simplex."""
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
    return out


def sequence_perplexity(log_probs):
    """PPL = exp(-(1/T) sum_t log p_t) from the natural-log probabilities ``log_probs`` (..., T) -> (...).

    (information.perplexity takes the NLLs instead: perplexity(nll) = sequence_perplexity(-nll).)
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    return np.exp(-lp.mean(axis=-1))


def cross_entropy_bits(log_probs):
    """-(1/T) sum_t log2 p_t from natural-log probabilities."""
    lp = np.asarray(log_probs, dtype=np.float64)
    return -lp.mean(axis=-1) / np.log(2.0)


def kneser_ney_discounts(counts_of_counts):
    """Chen & Goodman's D1, D2, D3+ from n1..n4: Y = n1/(n1+2 n2), D_k = k - (k+1) Y n_{k+1}/n_k."""
    n = np.asarray(counts_of_counts, dtype=np.float64)
    if n.shape[-1] != 4:
        raise ValueError(f"counts_of_counts must be (n1, n2, n3, n4), got shape {n.shape}")
    n1, n2, n3, n4 = n[..., 0], n[..., 1], n[..., 2], n[..., 3]
    Y = n1 / (n1 + 2 * n2)
    return np.stack([1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3], axis=-1)


def continuation_counts(counts):
    """N1+(. w_2..w_k) = number of distinct words seen before, from ``counts[w_1, ..., w_k]`` (axis 0)."""
    return (np.asarray(counts) > 0).sum(axis=0).astype(np.float64)


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
    D1, D2, D3 = np.asarray(discounts, dtype=np.float64)
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


@dataclass
class Corpus:
    """A corpus as integer ids: ``words[0..2]`` are <unk>, <s>, </s>; ``stream`` is the padded id sequence."""

    words: list[str]
    index: dict[str, int]
    stream: np.ndarray  # <s> w .. </s> <s> ... </s>
    offset: np.ndarray  # position of each stream element within its padded sentence
    length: np.ndarray  # padded length of the sentence each stream element belongs to


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

    Ids follow first appearance after ``<unk>``=0, ``<s>``=1, ``</s>``=2 (KenLM's order).
    """
    if isinstance(sentences, (str, bytes)):
        raise ValueError("sentences: got one string, expected a collection of sentences (a list of strings or of "
                         "token lists); a string would be read one character per sentence - use text.splitlines()")
    index = {UNK: 0, BOS: 1, EOS: 2}
    flat: list[str] = []
    lengths: list[int] = []
    for n, s in enumerate(sentences):
        if isinstance(s, str):
            toks = s.split()
        else:
            toks = list(s)
            _check_tokens(toks, n)
        if not toks:
            continue
        flat.extend(toks)
        lengths.append(len(toks))
    if not lengths:
        raise ValueError("sentences: the corpus has no non-empty sentence")
    setdefault = index.setdefault
    ids = np.fromiter((setdefault(w, len(index)) for w in flat), dtype=np.int64, count=len(flat))
    if (ids == 1).any() or (ids == 2).any():
        raise ValueError(f"sentences: the words {BOS!r} and {EOS!r} are added by padding and must not "
                         "appear inside a sentence")
    lengths_a = np.asarray(lengths, dtype=np.int64)
    plen = lengths_a + 2
    total = int(plen.sum())
    starts = np.concatenate([[0], np.cumsum(plen)[:-1]])
    stream = np.empty(total, dtype=np.int64)
    inner = np.ones(total, dtype=bool)
    inner[starts] = False
    inner[starts + plen - 1] = False
    stream[starts] = 1
    stream[starts + plen - 1] = 2
    stream[inner] = ids
    length = np.repeat(plen, plen)
    offset = np.arange(total, dtype=np.int64) - np.repeat(starts, plen)
    words = [None] * len(index)
    for w, i in index.items():
        words[i] = w
    return Corpus(words=words, index=index, stream=stream, offset=offset, length=length)


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
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ValueError(f"order must be an integer >= 1, got {order!r}")
    corpus = sentences if isinstance(sentences, Corpus) else encode_corpus(sentences)
    stream, offset, length = corpus.stream, corpus.offset, corpus.length
    V = len(corpus.words)
    L = len(stream)

    # --- n-gram tables per order: keys (sorted), prefix/suffix rank, raw counts ----------
    rank_prev = stream  # rank of the 1-gram at each position = its id (unigram keys are 0..V-1)
    keys = [np.arange(V, dtype=np.int64)]
    raw = [np.bincount(stream, minlength=V).astype(np.float64)]
    prefix = [None]
    suffix = [None]
    bos_start = [np.arange(V) == 1]
    for k in range(2, order + 1):
        pos = np.nonzero(offset[: L - k + 1] <= length[: L - k + 1] - k)[0]
        key = rank_prev[pos] * V + stream[pos + k - 1]
        uniq, first, inv = np.unique(key, return_index=True, return_inverse=True)
        rank = np.full(L, -1, dtype=np.int64)
        rank[pos] = inv
        keys.append(uniq)
        raw.append(np.bincount(inv, minlength=len(uniq)).astype(np.float64))
        prefix.append(uniq // V)
        suffix.append(rank_prev[pos[first] + 1])
        bos_start.append(bos_start[-1][uniq // V])
        rank_prev = rank

    # --- adjusted counts: distinct left extensions, raw for the highest order and <s>-initial
    adjusted = []
    for k in range(1, order + 1):
        if k == order:
            a = raw[k - 1].copy()
        else:
            a = np.bincount(suffix[k], minlength=len(keys[k - 1])).astype(np.float64)
            a = np.where(bos_start[k - 1], raw[k - 1], a)
        adjusted.append(a)
    adjusted[0][1] = 0.0  # <s> is never predicted
    adjusted[0][0] = 0.0  # <unk> has count zero

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
                    D = tuple(float(x) for x in kneser_ney_discounts(np.asarray(n, dtype=np.float64)))
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

    # --- interpolate, lowest order first ----------------------------------------------------------
    def discount_of(a, D):
        return np.where(a <= 0, 0.0, np.where(a < 2, D[0], np.where(a < 3, D[1], D[2])))

    n_ctx_types = V - 1  # |V| excludes <s>
    probs: list[np.ndarray] = []
    gammas: list[np.ndarray] = []
    a = adjusted[0]
    d = discount_of(a, stats_d[0])
    total = a.sum()
    gamma0 = d.sum() / total
    p = (a - d) / total
    if interpolate_unigrams:
        p = p + gamma0 / n_ctx_types
    else:
        p[0] += gamma0
    p[1] = 1.0  # <s>: written as log10 p = 0, never predicted
    probs.append(p)
    for k in range(2, order + 1):
        a = adjusted[k - 1]
        d = discount_of(a, stats_d[k - 1])
        ctx = prefix[k - 1]
        m = len(keys[k - 2])
        total = np.bincount(ctx, weights=a, minlength=m)
        dsum = np.bincount(ctx, weights=d, minlength=m)
        safe = np.where(total > 0, total, 1.0)
        gamma = np.where(total > 0, dsum / safe, 1.0)
        gammas.append(gamma)
        p = (a - d) / safe[ctx] + gamma[ctx] * probs[k - 2][suffix[k - 1]]
        probs.append(p)

    # discounts of exactly 0 or D = a can give p = 0 or gamma = 0: log10 0 = -inf is intended
    with np.errstate(divide="ignore"):
        logprob = [np.log10(p) for p in probs]
        backoff = [np.log10(gammas[k - 1]) if k < order else np.zeros(len(keys[k - 1]))
                   for k in range(1, order + 1)]
    # n-grams that are never a context (<unk>, those ending in </s>) have gamma 1 -> log10 0
    model = BackoffModel(words=list(corpus.words), keys=keys, logprob=logprob, backoff=backoff,
                         index=dict(corpus.index))
    if return_statistics:
        return model, KneserNeyStatistics(stats_n, stats_d, stats_fb)
    return model
