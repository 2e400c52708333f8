"""Benchmark: modified Kneser-Ney estimation end to end beside KenLM's lmplz, scoring beside KenLM's
Python module, and NLTK.

    python benchmarks/bench_kneser_ney.py [--max-tokens 10000000] [--lmplz PATH] [--repeat 2]

For each size (10^5, 10^6, 3*10^6, 10^7 tokens up to ``--max-tokens``; and 10^6 at order 5) one
synthetic corpus is written to a temporary file: sentences of 5-24 tokens, words w0..w{V-1} drawn
with p(rank r) ~ 1/r over V = 250,000 words, seeded by the size. On that file, each in its own child
process, end to end (start, read, estimate, write the ARPA file):

* KenLM: ``lmplz -o N -S 1G -T TMP --text CORPUS --arpa OUT`` (``--lmplz PATH``, else ``lmplz`` on PATH);
* this project: ``python -m lmverify.ngram_cmd estimate CORPUS -o N --arpa OUT``.

Each command is started by a small launcher process, which measures its wall time and reads its
peak resident set (``ru_maxrss`` of the launcher's children): a child forked from this process
itself would report this process's memory (NLTK's model, the scoring models) as its own. The two ARPA files' n-gram counts are compared.
With ``--repeat R`` each side runs R times, alternating, and the best time is reported (with all).

Scoring (sizes up to ``--score-max-tokens``): the model is estimated in this process; a held-out
text (10,000 tokens, another seed) is scored in one batch (per n-gram) and sentence by sentence, by
``BackoffModel`` and, where the ``kenlm`` package is installed, by ``kenlm.Model`` on lmplz's ARPA
file (or ours without lmplz) -- the largest difference of the n-gram log10 p is printed. Building
our hash index (once per model, like loading) is not timed. NLTK's
``KneserNeyInterpolated`` is fitted on the same corpus while its fit is predicted to finish within
``--nltk-budget`` seconds, then scores held-out trigrams for a few seconds.

Nothing here is copied from elsewhere: every figure printed is measured in this run.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reference.numpy.ngram import estimate_kneser_ney, read_corpus  # noqa: E402

VOCAB = 250_000
SIZES = [100_000, 1_000_000, 3_000_000, 10_000_000]


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


#: a small launcher: a child forked from this (large) process would inherit its resident set in
#: ru_maxrss, so each command is started by a fresh interpreter that reports its child's peak
_LAUNCHER = ("import resource, subprocess, sys, time\n"
             "t = time.perf_counter()\n"
             "rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
             "wall = time.perf_counter() - t\n"
             "print(f'@@ {wall} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss} {rc}', file=sys.stderr)\n")


def run_child(cmd: list[str]) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MiB, exit code, stderr tail) of one command, timed and measured by a
    fresh launcher process (its wall time starts at the command's start, not the launcher's)."""
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, cwd=ROOT)
    err = proc.stderr.decode(errors="replace")
    last = [line for line in err.splitlines() if line.startswith("@@ ")]
    if not last:
        return float("nan"), float("nan"), proc.returncode or 1, err[-400:]
    wall, rss_kib, rc = last[-1].split()[1:]
    return float(wall), int(rss_kib) / 1024, int(rc), err[-400:]


def arpa_counts(path: str) -> list[int]:
    counts = []
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"ngram "):
                counts.append(int(line.split(b"=")[1]))
            elif line.startswith(b"\\1-grams"):
                break
    return counts


def estimate_side_by_side(corpus_path: str, order: int, tmp: str, lmplz: str | None, repeat: int) -> dict:
    ours_cmd = [sys.executable, "-m", "lmverify.ngram_cmd", "estimate", corpus_path, "-o", str(order),
                "--arpa", os.path.join(tmp, "ours.arpa")]
    kenlm_cmd = [lmplz, "-o", str(order), "-S", "1G", "-T", tmp, "--text", corpus_path,
                 "--arpa", os.path.join(tmp, "kenlm.arpa")] if lmplz else None
    ours, theirs = [], []
    for _ in range(repeat):
        if kenlm_cmd:
            wall, mib, rc, err = run_child(kenlm_cmd)
            if rc != 0:
                raise SystemExit(f"lmplz failed ({rc}): {err}")
            theirs.append((wall, mib))
        wall, mib, rc, err = run_child(ours_cmd)
        if rc != 0:
            raise SystemExit(f"lmverify ngram estimate failed ({rc}): {err}")
        ours.append((wall, mib))
    row = dict(ours=min(ours), ours_all=ours, counts=arpa_counts(os.path.join(tmp, "ours.arpa")))
    if theirs:
        row["kenlm"] = min(theirs)
        row["kenlm_all"] = theirs
        row["same_counts"] = arpa_counts(os.path.join(tmp, "kenlm.arpa")) == row["counts"]
    return row


def _best(f, repeat: int = 20) -> float:
    """Least wall time of ``repeat`` calls (a run of a few milliseconds is at the mercy of the load: the same
    number of calls, interleaved with nothing else, for each side)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def _numba_version() -> str:
    """The Numba that compiles our scoring (the fast extra), or why none does."""
    from reference import arpa_walk

    if arpa_walk.compiled() is None:
        return "not used (not installed, or LMVERIFY_NO_NUMBA=1)"
    import numba

    return f"numba {numba.__version__}"


def scoring(corpus_path: str, held_out: list[str], arpa_for_kenlm: str) -> dict:
    """Per n-gram (batch) and per sentence times, ours and kenlm's (best of 20 and 10 runs), and the largest
    difference of the n-gram log10 p."""
    model = estimate_kneser_ney(read_corpus(corpus_path), 3)
    out = {}
    h, w = model.sentence_ngrams(held_out[:100])
    model.score_ngrams(h, w)  # builds the hash indexes of words and n-grams (loading, as kenlm.Model's): not timed
    model.score_sentence(held_out[0])  # loads the compiled scorer where the fast extra is installed: not timed
    h, w = model.sentence_ngrams(held_out)
    ours_scores = model.score_ngrams(h, w)
    out["n_grams"] = n = len(w)
    out["ours_batch_us"] = _best(lambda: model.score_ngrams(*model.sentence_ngrams(held_out))) / n * 1e6
    sample = held_out[:300]
    out["ours_sentence_us"] = _best(lambda: [model.score_sentence(s) for s in sample], 10) / len(sample) * 1e6
    try:
        import kenlm
    except ImportError:
        return out
    km = kenlm.Model(arpa_for_kenlm)
    out["kenlm_batch_us"] = _best(lambda: [km.score(s) for s in held_out]) / n * 1e6
    out["kenlm_sentence_us"] = _best(lambda: [km.score(s) for s in sample], 10) / len(sample) * 1e6
    per_ngram = np.array([lp for s in held_out for lp, _, _ in km.full_scores(s)])
    out["max_delta"] = float(np.abs(ours_scores - per_ngram).max())
    return out


def nltk_measure(corpus: list[str], held_out: list[str], budget: float, predicted_fit: float | None):
    """(fit seconds, seconds per trigram, note); None where the fit would exceed the budget."""
    try:
        from nltk.lm import KneserNeyInterpolated
        from nltk.lm.preprocessing import padded_everygram_pipeline
    except ImportError:
        return None, None, "nltk not installed"
    if budget <= 0:
        return None, None, "skipped (--nltk-budget 0)"
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
    while n < len(trigrams) and time.perf_counter() - t < min(5.0, budget / 4):
        h, w = trigrams[n]
        lm.score(w, h)
        n += 1
    return fit, (time.perf_counter() - t) / max(n, 1), f"{n} trigrams scored"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-tokens", type=float, default=1e6, help="largest corpus (default 1e6; the issue's table: 1e7)")
    ap.add_argument("--sizes", type=int, nargs="+", default=None, help="sizes instead of 1e5, 1e6, 3e6, 1e7")
    ap.add_argument("--lmplz", default=None, help="KenLM's lmplz binary (default: lmplz on PATH, if any)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each side per row; the best is reported")
    ap.add_argument("--no-order5", action="store_true", help="leave out the order-5 row at 1e6 tokens")
    ap.add_argument("--score-max-tokens", type=float, default=1e6, help="scoring comparison up to this size")
    ap.add_argument("--nltk-budget", type=float, default=30.0, help="seconds NLTK may take per size")
    ap.add_argument("--held-out", type=int, default=10_000, help="tokens of held-out text")
    args = ap.parse_args(argv)

    lmplz = args.lmplz or shutil.which("lmplz")
    if args.lmplz and not os.access(args.lmplz, os.X_OK):
        ap.error(f"--lmplz {args.lmplz}: not an executable file")
    sizes = [n for n in (args.sizes or SIZES) if n <= args.max_tokens]
    plan = [(n, 3) for n in sizes] + ([(1_000_000, 5)] if 1_000_000 in sizes and not args.no_order5 else [])
    held_out = zipf_corpus(args.held_out, seed=12345)
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs; python {platform.python_version()}, "
          f"numpy {np.__version__}; lmplz: {lmplz or 'not found'}; fast extra (Numba): {_numba_version()}; "
          f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    rows = []
    nltk_per_token = None
    with tempfile.TemporaryDirectory() as tmp:
        for n, order in plan:
            sentences = zipf_corpus(n, seed=n)
            path = os.path.join(tmp, f"corpus{n}.txt")
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(sentences) + "\n")
            row = dict(n=n, order=order, load=os.getloadavg()[0])
            row.update(estimate_side_by_side(path, order, tmp, lmplz, args.repeat))
            if order == 3 and n <= args.score_max_tokens:
                arpa = os.path.join(tmp, "kenlm.arpa" if lmplz else "ours.arpa")
                row["score"] = scoring(path, held_out, arpa)
                predicted = nltk_per_token * n if nltk_per_token else None
                row["nltk"] = nltk_measure(sentences, held_out, args.nltk_budget, predicted)
                if row["nltk"][0] is not None:
                    nltk_per_token = row["nltk"][0] / n
            del sentences
            os.remove(path)
            rows.append(row)
            print(f"  {n:,} tokens, order {order}: ours {row['ours'][0]:.2f} s / {row['ours'][1]:.0f} MiB"
                  + (f", lmplz {row['kenlm'][0]:.2f} s / {row['kenlm'][1]:.0f} MiB" if "kenlm" in row else ""),
                  flush=True)

    print(f"\nModified Kneser-Ney, end to end (start, read, estimate, write ARPA), Zipf corpus over {VOCAB:,} "
          f"words, best of {args.repeat}; load average (1 min) after: {os.getloadavg()[0]:.2f}\n")
    print("| tokens | order | n-grams | KenLM s / MiB | project s / MiB | ratio s (MiB) | same n-grams | "
          "growth of time (tokens) |")
    print("|---|---|---|---|---|---|---|---|")
    prev = None
    for r in rows:
        k = r.get("kenlm")
        ratio = f"{r['ours'][0] / k[0]:.2f} ({r['ours'][1] / k[1]:.2f})" if k else "n/a"
        growth = ""
        if r["order"] == 3:
            if prev is not None:
                growth = (f"ours x{r['ours'][0] / prev['ours'][0]:.1f}"
                          + (f", KenLM x{k[0] / prev['kenlm'][0]:.1f}" if k else "") + f" (x{r['n'] / prev['n']:.0f})")
            prev = r
        label = f"{r['n']:,}"
        print(f"| {label} | {r['order']} | {'/'.join(f'{c:,}' for c in r['counts'])} | "
              f"{f'{k[0]:.2f} / {k[1]:.0f}' if k else 'n/a'} | {r['ours'][0]:.2f} / {r['ours'][1]:.0f} | {ratio} | "
              f"{r.get('same_counts', 'n/a')} | {growth} |")
    if args.repeat > 1:
        print("\nall runs (s / MiB):")
        for r in rows:
            print(f"  {r['n']:,} o{r['order']}: ours " + ", ".join(f"{t:.2f}/{m:.0f}" for t, m in r["ours_all"])
                  + ("; KenLM " + ", ".join(f"{t:.2f}/{m:.0f}" for t, m in r["kenlm_all"]) if "kenlm_all" in r else ""))

    scored = [r for r in rows if "score" in r]
    if scored:
        print(f"\nScoring a held-out text ({scored[0]['score']['n_grams']:,} n-grams, order 3); µs per n-gram in one "
              "batch, µs per sentence one at a time (best of 20 and of 10 runs):\n")
        print("| tokens | ours batch | kenlm batch | ratio | ours per sentence | kenlm per sentence | ratio | "
              "max abs Δ log10 per n-gram | NLTK fit s | NLTK ms/trigram |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in scored:
            s = r["score"]
            kb, ks = s.get("kenlm_batch_us"), s.get("kenlm_sentence_us")
            nfit, nscore, note = r["nltk"]
            ob, os_ = s["ours_batch_us"], s["ours_sentence_us"]
            cells = [f"{r['n']:,}", f"{ob:.2f}", f"{kb:.2f}" if kb else "n/a", f"{ob / kb:.1f}" if kb else "n/a",
                     f"{os_:.1f}", f"{ks:.1f}" if ks else "n/a", f"{os_ / ks:.1f}" if ks else "n/a",
                     f"{s['max_delta']:.1e}" if "max_delta" in s else "n/a",
                     f"{nfit:.2f}" if nfit is not None else note, f"{nscore * 1e3:.1f}" if nscore else "n/a"]
            print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
