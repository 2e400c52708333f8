"""Seeded synthetic corpora for the Kneser-Ney benchmark, written straight to a file.

    python benchmarks/corpora.py structured 1e7 OUT.txt [--seed S]
    python benchmarks/corpora.py zipf 1e6 OUT.txt [--seed S]

Two kinds, both sentences of 5-24 tokens named ``w<rank>``:

* ``zipf`` (independent): every token drawn on its own with p(rank r) ~ 1/r over 250,000 types, so
  almost every trigram is new (the corpus of the earlier benchmark);
* ``structured``: 50,000 types, Zipf exponent 1.1; the first token of a sentence is drawn, and every
  later one is, with probability 0.5, the fixed successor of the token before it (one successor per
  type, a seeded permutation), else drawn afresh. n-grams then repeat as they do in text.

Tokens are generated and written a million at a time, so a corpus of 10^8 tokens needs no more
memory than one of 10^6.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

ZIPF_VOCAB, ZIPF_EXPONENT = 250_000, 1.0
STRUCTURED_VOCAB, STRUCTURED_EXPONENT, STRUCTURED_FOLLOW = 50_000, 1.1, 0.5
_CHUNK = 1_000_000


def _lengths(rng: np.random.Generator, n_tokens: int) -> np.ndarray:
    """Sentence lengths of 5-24 tokens adding up to at least ``n_tokens`` (the last sentence may overshoot)."""
    lengths = rng.integers(5, 25, size=n_tokens // 5 + 1)
    return lengths[: int(np.searchsorted(np.cumsum(lengths), n_tokens)) + 1]


def _zipf_cdf(vocab: int, exponent: float) -> np.ndarray:
    p = 1.0 / np.arange(1, vocab + 1, dtype=np.float64) ** exponent
    c = np.cumsum(p)
    return c / c[-1]


def _draw(rng: np.random.Generator, cdf: np.ndarray, size: int) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, rng.random(size), side="right"), len(cdf) - 1)


def _follow(fresh: np.ndarray, follow: np.ndarray, successor: np.ndarray) -> np.ndarray:
    """Tokens where ``follow[i]`` means "the successor of token i-1" and otherwise ``fresh[i]``: each run of
    followers is resolved one step per pass, all runs at once (passes = the longest run, ~log2 of the size)."""
    tok = fresh.copy()
    todo = np.flatnonzero(follow)
    while len(todo):
        ready = ~follow[todo - 1]  # the token before is final: a fresh one, or a follower resolved earlier
        idx = todo[ready]
        tok[idx] = successor[tok[idx - 1]]
        follow[idx] = False  # resolved: the next in the run may go in the next pass
        todo = todo[~ready]
    return tok


def write_corpus(path: str, kind: str, n_tokens: int, seed: int) -> int:
    """Write a corpus of ``kind`` ('zipf' or 'structured') with about ``n_tokens`` tokens; returns the token count."""
    if kind not in ("zipf", "structured"):
        raise ValueError(f"kind must be 'zipf' or 'structured', got {kind!r}")
    rng = np.random.default_rng(seed)
    vocab, exponent = (ZIPF_VOCAB, ZIPF_EXPONENT) if kind == "zipf" else (STRUCTURED_VOCAB, STRUCTURED_EXPONENT)
    cdf = _zipf_cdf(vocab, exponent)
    successor = rng.permutation(vocab)
    names = np.array([f"w{i}" for i in range(vocab)], dtype=object)
    lengths = _lengths(rng, n_tokens)
    total = int(lengths.sum())
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    written = 0
    with open(path, "w", encoding="utf-8") as f:
        s = 0
        while s < len(lengths):
            e = min(len(lengths), int(np.searchsorted(bounds, bounds[s] + _CHUNK, side="right")))
            e = max(e, s + 1)
            n = int(bounds[e] - bounds[s])
            fresh = _draw(rng, cdf, n)
            if kind == "structured":
                follow = rng.random(n) < STRUCTURED_FOLLOW
                follow[bounds[s:e] - bounds[s]] = False  # a sentence starts with a drawn token
                fresh = _follow(fresh, follow, successor)
            toks = names[fresh]
            local = bounds[s:e + 1] - bounds[s]
            f.write("\n".join(" ".join(toks[a:b]) for a, b in zip(local[:-1].tolist(), local[1:].tolist())))
            f.write("\n")
            written += n
            s = e
    assert written == total
    return total


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=("zipf", "structured"))
    ap.add_argument("tokens", type=float)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=None, help="default: the number of tokens")
    args = ap.parse_args(argv)
    n = int(args.tokens)
    total = write_corpus(args.out, args.kind, n, n if args.seed is None else args.seed)
    print(f"{args.out}: {total:,} tokens ({args.kind})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
