"""Benchmark: modified Kneser-Ney trigram estimation, ARPA writing and scoring, beside NLTK.

    python benchmarks/bench_kneser_ney.py [--sizes 10000 100000 1000000] [--nltk-budget 60]

For each size, a synthetic corpus (Zipf-distributed words over a 50,000-word vocabulary,
sentences of 5-24 tokens, seeded) is estimated with ``estimate_kneser_ney(order=3)``, the
model is written as ARPA, and a held-out text (10,000 tokens, another seed) is scored.
Time is wall-clock (best of one run, tracemalloc off); peak memory is measured in a second
run with tracemalloc on (Python and NumPy allocations). NLTK's ``KneserNeyInterpolated`` is
fitted on the same corpus as long as its fit is predicted to finish within the budget, and
then scores held-out trigrams until a few seconds have passed (its per-trigram time).

For scale (shared/kenlm/README.md, same kind of machine): KenLM's ``lmplz -o 3`` took 1.37 s
and 276 MB on a 10^6-token corpus of this kind; NLTK fitted 10^5 tokens in 2.9 s and scored
48 ms per trigram. Targets: estimation within 3x of KenLM at 10^6 tokens, scoring at least
1000x faster per n-gram than NLTK, time linear in corpus size.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reference.arpa import write_arpa  # noqa: E402
from reference.numpy.ngram import estimate_kneser_ney  # noqa: E402

KENLM_SECONDS_1M = 1.37
KENLM_MB_1M = 276
VOCAB = 50_000


def zipf_corpus(n_tokens: int, seed: int, vocab: int = VOCAB, exponent: float = 1.0) -> list[str]:
    """Sentences of 5-24 tokens, words w0..w{vocab-1} drawn with p(rank r) ~ r^-exponent."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, vocab + 1) ** exponent
    p /= p.sum()
    lengths = rng.integers(5, 25, size=n_tokens // 5 + 1)
    lengths = lengths[: int(np.searchsorted(np.cumsum(lengths), n_tokens)) + 1]
    words = np.array([f"w{i}" for i in range(vocab)], dtype=object)
    toks = words[rng.choice(vocab, size=int(lengths.sum()), p=p)]
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    return [" ".join(toks[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def timed(f, *a, **kw):
    gc.collect()
    t = time.perf_counter()
    out = f(*a, **kw)
    return out, time.perf_counter() - t


def peak_mb(f, *a, **kw) -> float:
    gc.collect()
    tracemalloc.start()
    f(*a, **kw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def nltk_measure(corpus: list[str], held_out: list[str], budget: float, predicted_fit: float | None):
    """(fit seconds, seconds per trigram) or (None, None) when the fit would exceed the budget."""
    try:
        from nltk.lm import KneserNeyInterpolated
        from nltk.lm.preprocessing import padded_everygram_pipeline
    except ImportError:
        return None, None, "nltk not installed"
    if predicted_fit is not None and predicted_fit > budget:
        return None, None, f"skipped: fit predicted at {predicted_fit:.0f} s > {budget:.0f} s budget"
    train, vocab = padded_everygram_pipeline(3, [s.split() for s in corpus])
    lm = KneserNeyInterpolated(3)
    t = time.perf_counter()
    lm.fit(train, vocab)
    fit = time.perf_counter() - t
    trigrams = []
    for s in held_out:
        toks = ["<s>", "<s>"] + s.split() + ["</s>"]
        trigrams += [(toks[i - 2:i], toks[i]) for i in range(2, len(toks))]
    n, t = 0, time.perf_counter()
    while n < len(trigrams) and time.perf_counter() - t < min(10.0, budget / 4):
        h, w = trigrams[n]
        lm.score(w, h)
        n += 1
    return fit, (time.perf_counter() - t) / max(n, 1), f"{n} trigrams scored"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--nltk-budget", type=float, default=60.0, help="seconds NLTK may take per size")
    ap.add_argument("--held-out", type=int, default=10_000, help="tokens of held-out text")
    args = ap.parse_args(argv)

    held_out = zipf_corpus(args.held_out, seed=12345)
    rows = []
    nltk_fit_per_token = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            corpus = zipf_corpus(n, seed=n)
            model, t_est = timed(estimate_kneser_ney, corpus, 3)
            _, t_write = timed(write_arpa, model, os.path.join(tmp, "m.arpa"))
            (h, w), t_prep = timed(model.sentence_ngrams, held_out)
            _, t_score = timed(model.score_ngrams, h, w)
            mem = peak_mb(estimate_kneser_ney, corpus, 3)
            predicted = nltk_fit_per_token * n if nltk_fit_per_token else None
            nfit, nscore, note = nltk_measure(corpus, held_out, args.nltk_budget, predicted)
            if nfit is not None:
                nltk_fit_per_token = nfit / n
            rows.append(dict(n=n, counts=model.counts(), est=t_est, write=t_write,
                             score=(t_prep + t_score) / len(w), score_only=t_score / len(w), mem=mem,
                             nfit=nfit, nscore=nscore, note=note))
            del model, corpus

    print(f"\nModified Kneser-Ney, order 3, Zipf corpus over {VOCAB:,} words (numpy {np.__version__}); "
          f"KenLM lmplz at 1e6 tokens: {KENLM_SECONDS_1M} s, {KENLM_MB_1M} MB")
    print()
    print("| tokens | n-grams (1/2/3) | estimate s | s per 1e6 tokens | ARPA write s | score us/n-gram "
          "(incl. lookup of words) | peak MB (tracemalloc) | NLTK fit s | NLTK ms/trigram | "
          "estimate vs KenLM | scoring speed-up vs NLTK |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        vs_kenlm = f"{r['est'] / (KENLM_SECONDS_1M * r['n'] / 1e6):.2f}x KenLM (scaled)"
        speed = f"{r['nscore'] / r['score']:,.0f}x" if r["nscore"] else "n/a"
        print(f"| {r['n']:,} | {'/'.join(f'{c:,}' for c in r['counts'])} | {r['est']:.3f} | "
              f"{r['est'] / r['n'] * 1e6:.2f} | {r['write']:.3f} | {r['score'] * 1e6:.2f} ({r['score_only'] * 1e6:.2f}) | "
              f"{r['mem']:.0f} | {'%.2f' % r['nfit'] if r['nfit'] else r['note']} | "
              f"{'%.1f' % (r['nscore'] * 1e3) if r['nscore'] else 'n/a'} | {vs_kenlm} | {speed} |")
    big = [r for r in rows if r["n"] >= 1_000_000]
    if big:
        r = big[0]
        print(f"\nAt {r['n']:,} tokens: estimation {r['est']:.2f} s = {r['est'] / KENLM_SECONDS_1M:.2f}x KenLM's "
              f"{KENLM_SECONDS_1M} s (target <= 3x).")
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        print(f"Growth {a['n']:,} -> {b['n']:,} tokens ({b['n'] / a['n']:.0f}x): estimation time x"
              f"{b['est'] / a['est']:.1f} (linear would be x{b['n'] / a['n']:.0f}).")
    nl = [r for r in rows if r["nscore"]]
    if nl:
        print(f"Scoring vs NLTK (same run): {min(r['nscore'] / r['score'] for r in nl):,.0f}x faster per n-gram "
              f"(target >= 1000x).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
