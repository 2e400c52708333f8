"""Benchmark: modified Kneser-Ney estimation end to end beside KenLM's lmplz, and scoring beside KenLM's query and
Python module; every ratio from one run, with the machine's load.

    python benchmarks/bench_kneser_ney.py --lmplz PATH --query PATH --build-binary PATH [--repeat 3]

Estimation. For each corpus kind (benchmarks/corpora.py: ``zipf``, every token drawn independently over 250,000
types; ``structured``, 50,000 types, Zipf 1.1, with probability 0.5 a token is the fixed successor of the one
before) at each size (``--sizes``, default 10^6 and 10^7 tokens) and each order (``--orders``, default 3 and 5),
and for a real text a package ships (gensim's test corpus ``lee_background.cor``, 59,890 tokens), one seeded
file is written; then, each in its own process, end to end (start, read, estimate, write the ARPA file):

* KenLM: ``lmplz -o N -S 1G -T TMP --text CORPUS --arpa OUT``;
* this project: ``python -m lmverify.ngram_cmd estimate CORPUS -o N --arpa OUT``.

The two run in alternating pairs (``--repeat`` pairs, the first side swapped every pair); each process is
started by a small launcher that measures its wall time and its peak resident set (``ru_maxrss`` of the
launcher's children: a child forked from this process would report this process's memory). The table gives
the medians and the median of the per-pair ratios; both ARPA files' n-gram counts are compared.

Scoring (``--score-tokens``, default 10^6: a structured corpus, order 3, estimated by lmplz; a held-out text of
``--held-out-sentences`` sentences, 100,000 by default, from another seed): ``lmverify ngram score MODEL TEXT``
on the ARPA file and on ``lmverify ngram build``'s binary file, beside ``query MODEL < TEXT`` on the ARPA file
and on ``build_binary``'s file, alternating, end to end with their output written to /dev/null; the outputs
are compared once (query's own header lines aside). One sentence at a time: ``BackoffModel.score_sentence``
beside ``kenlm.Model.score`` (the ``kenlm`` package, where installed): 20 rounds of 300 sentences each, the two
in alternation, the best round of each.

Nothing here is copied from elsewhere: every figure printed is measured in this run.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


#: a small launcher: a child forked from this (large) process would inherit its resident set in
#: ru_maxrss, so each command is started by a fresh interpreter that reports its child's peak
_LAUNCHER = ("import resource, subprocess, sys, time\n"
             "t = time.perf_counter()\n"
             "rc = subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
             "wall = time.perf_counter() - t\n"
             "ru = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
             "print(f'@@ {wall} {ru.ru_maxrss} {rc} {ru.ru_utime + ru.ru_stime}', file=sys.stderr)\n")


def run_child(cmd: list[str]) -> tuple[float, float, int, str, float]:
    """(wall seconds, peak RSS MiB, exit code, stderr tail, CPU seconds: user + system) of one command, timed and
    measured by a fresh launcher process (its wall time starts at the command's start, not the launcher's)."""
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, *cmd], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, cwd=ROOT)
    err = proc.stderr.decode(errors="replace")
    last = [line for line in err.splitlines() if line.startswith("@@ ")]
    if not last:
        return float("nan"), float("nan"), proc.returncode or 1, err[-400:], float("nan")
    wall, rss_kib, rc, cpu = last[-1].split()[1:]
    return float(wall), int(rss_kib) / 1024, int(rc), err[-400:], float(cpu)


def arpa_counts(path: str) -> list[int]:
    counts = []
    with open(path, "rb") as f:
        for line in f:
            if line.startswith(b"ngram "):
                counts.append(int(line.split(b"=")[1]))
            elif line.startswith(b"\\1-grams"):
                break
    return counts


def _best(f, repeat: int = 20) -> float:
    """Least wall time of ``repeat`` calls (a run of a few milliseconds is at the mercy of the load: the same
    number of calls, interleaved with nothing else, for each side)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def _kernels_note() -> str:
    """Which compiled kernels the commands use (built here first where the cache has none, so that no timed run
    compiles), or why none."""
    from reference import _arpa_aot, arpa_walk

    if arpa_walk.compiled() is None:
        return "none (Numba not installed, or LMVERIFY_NO_NUMBA=1): the NumPy paths"
    import numba

    k = arpa_walk._jit()
    if isinstance(k, _arpa_aot.Kernels):
        return f"compiled ahead of time by numba {numba.__version__} (numba.pycc), loaded from {k.path}"
    return f"numba {numba.__version__}, just in time (the ahead-of-time build is not available)"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _mem_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def _commit() -> str:
    """The commit benchmarked (with '+changes' where the benchmarked code differs from it in the work tree)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "reference",
                                "lmverify/ngram_cmd.py", "benchmarks"], cwd=ROOT, capture_output=True,
                               text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + (" +changes" if dirty else "")


def _compile_bytecode() -> str:
    """Our commands as an installed package runs them: with its modules' bytecode on disk (pip compiles it at
    install). Where PYTHONDONTWRITEBYTECODE is set (as on the machine this benchmark was written on) no run would
    write it, and every run of ours would compile ``reference/arpa.py`` and the rest again (0.25 -> 0.16 s for
    `score` on an empty text here)."""
    import compileall

    ok = all(compileall.compile_dir(str(ROOT / pkg), quiet=1) for pkg in ("lmverify", "reference"))
    return "compiled for lmverify and reference (compileall)" if ok else "compileall reported errors"


def _median(xs):
    return float(np.median(np.asarray(xs, dtype=np.float64)))


def paired(commands: dict[str, list[str]], repeat: int, check=None) -> dict[str, list[tuple[float, float, float]]]:
    """Run every command ``repeat`` times, in turn (the order rotated every round): (wall s, peak MiB, CPU s)."""
    names = list(commands)
    out = {n: [] for n in names}
    for r in range(repeat):
        order = names[r % len(names):] + names[: r % len(names)]
        for n in order:
            wall, mib, rc, err, cpu = run_child(commands[n])
            if rc != 0:
                raise SystemExit(f"{n} failed ({rc}): {' '.join(commands[n])}\n{err}")
            out[n].append((wall, mib, cpu))
        if check is not None and r == 0:
            check()
    return out


def estimation_row(label: str, corpus: str, order: int, tmp: str, lmplz: str, repeat: int,
                   fallback: bool = False) -> dict:
    ours_arpa, kenlm_arpa = os.path.join(tmp, "ours.arpa"), os.path.join(tmp, "kenlm.arpa")
    extra = ["--discount_fallback"] if fallback else []
    cmds = {"ours": [sys.executable, "-m", "lmverify.ngram_cmd", "estimate", corpus, "-o", str(order),
                     "--arpa", ours_arpa, *extra],
            "kenlm": [lmplz, "-o", str(order), "-S", "1G", "-T", tmp, "--text", corpus, "--arpa", kenlm_arpa,
                      *extra]}
    load = os.getloadavg()[0]
    runs = paired(cmds, repeat)
    ours, kenlm = runs["ours"], runs["kenlm"]
    return dict(label=label, order=order, load=load, ours=ours, kenlm=kenlm,
                counts=arpa_counts(ours_arpa), same=arpa_counts(ours_arpa) == arpa_counts(kenlm_arpa),
                t_ratio=_median([a[0] / b[0] for a, b in zip(ours, kenlm)]),
                c_ratio=_median([a[2] / b[2] for a, b in zip(ours, kenlm)]),
                m_ratio=_median([a[1] / b[1] for a, b in zip(ours, kenlm)]))


def _query_output(path: str) -> bytes:
    """query's output without its own lines (loading and timing), for the comparison with ours."""
    keep = [line for line in Path(path).read_bytes().split(b"\n")
            if not line.startswith((b"Loading", b"Name:", b"After queries", b"Total time", b"This binary"))]
    return b"\n".join(keep)


def scoring_rows(tmp: str, lmplz: str, query: str, build_binary: str | None, n_tokens: int, sentences: int,
                 repeat: int) -> dict:
    from benchmarks.corpora import write_corpus

    corpus = os.path.join(tmp, "score_corpus.txt")
    write_corpus(corpus, "structured", n_tokens, seed=n_tokens)
    text_all = os.path.join(tmp, "held_all.txt")
    write_corpus(text_all, "structured", int(sentences * 16), seed=424242)
    text = os.path.join(tmp, "held.txt")
    with open(text_all, "rb") as f, open(text, "wb") as g:
        g.write(b"".join(f.readline() for _ in range(sentences)))
    arpa = os.path.join(tmp, "model.arpa")
    subprocess.run([lmplz, "-o", "3", "-S", "1G", "-T", tmp, "--text", corpus, "--arpa", arpa], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ours_bin, kenlm_bin = os.path.join(tmp, "model.bin"), os.path.join(tmp, "model.kenlm")
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lmverify.ngram_cmd", "build", arpa, ours_bin], check=True, cwd=ROOT,
                   stderr=subprocess.DEVNULL)
    build_s = time.perf_counter() - t
    # a run of each format before the timed ones (a cold page cache, a kernel cache to fill: not timed)
    for model in (ours_bin, arpa):
        subprocess.run([sys.executable, "-m", "lmverify.ngram_cmd", "score", model, text], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cmds = {"ours arpa": [sys.executable, "-m", "lmverify.ngram_cmd", "score", arpa, text],
            "ours binary": [sys.executable, "-m", "lmverify.ngram_cmd", "score", ours_bin, text],
            "query arpa": ["sh", "-c", f"exec {query} {arpa} < {text}"]}
    if build_binary:
        subprocess.run([build_binary, arpa, kenlm_bin], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        cmds["query binary"] = ["sh", "-c", f"exec {query} {kenlm_bin} < {text}"]

    def check():
        a = subprocess.run([sys.executable, "-m", "lmverify.ngram_cmd", "score", ours_bin, text], cwd=ROOT,
                           capture_output=True).stdout
        Path(tmp, "q.out").write_bytes(subprocess.run(["sh", "-c", f"{query} {arpa} < {text}"],
                                                      capture_output=True).stdout)
        b = _query_output(os.path.join(tmp, "q.out"))
        out["same_output"] = a.rstrip(b"\n") == b.rstrip(b"\n")
        out["tokens"] = int(re.search(rb"Tokens:\t(\d+)", a).group(1))

    out = dict(load=os.getloadavg()[0], build_s=build_s, sentences=sentences)
    out["runs"] = paired(cmds, repeat, check)
    out["sentence"] = per_sentence(arpa, text)
    return out


def per_sentence(arpa: str, text: str, rounds: int = 20) -> dict:
    """µs per sentence, one at a time: ours (``score_sentence``) and kenlm's ``Model.score``, 300 sentences a round,
    ``rounds`` rounds of each in alternation (so both see the same load), the best round of each."""
    from reference.arpa import read_arpa

    model = read_arpa(arpa)
    sample = Path(text).read_text().split("\n")[:300]
    model.score_sentence(sample[0])  # loads the compiled walk and builds the hash tables: not timed
    ours = lambda: [model.score_sentence(s) for s in sample]  # noqa: E731
    try:
        import kenlm
    except ImportError:
        return {"ours_us": _best(ours, rounds) / len(sample) * 1e6}
    km = kenlm.Model(arpa)
    theirs = lambda: [km.score(s) for s in sample]  # noqa: E731
    best = {"ours": float("inf"), "kenlm": float("inf")}
    for _ in range(rounds):
        for name, f in (("ours", ours), ("kenlm", theirs)):
            best[name] = min(best[name], _best(f, 1))
    out = {"ours_us": best["ours"] / len(sample) * 1e6, "kenlm_us": best["kenlm"] / len(sample) * 1e6}
    out["max_delta"] = max(abs(model.score_sentence(s) - km.score(s)) for s in sample)
    return out


def _fmt(runs):
    """median wall s / median peak MiB (median CPU s)"""
    return (f"{_median([r[0] for r in runs]):.2f} / {_median([r[1] for r in runs]):.0f} "
            f"({_median([r[2] for r in runs]):.2f})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lmplz", default=shutil.which("lmplz"), help="KenLM's lmplz (default: on PATH)")
    ap.add_argument("--query", default=shutil.which("query"), help="KenLM's query (default: on PATH)")
    ap.add_argument("--build-binary", default=shutil.which("build_binary"), help="KenLM's build_binary")
    ap.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7], help="corpus sizes in tokens")
    ap.add_argument("--orders", type=int, nargs="+", default=[3, 5])
    ap.add_argument("--kinds", nargs="+", default=["zipf", "structured"], choices=["zipf", "structured"])
    ap.add_argument("--repeat", type=int, default=3, help="alternating pairs per row (medians reported)")
    ap.add_argument("--score-tokens", type=float, default=1e6, help="training tokens of the scored model (0: skip)")
    ap.add_argument("--held-out-sentences", type=int, default=100_000)
    ap.add_argument("--no-real-text", action="store_true", help="leave out gensim's lee_background.cor")
    ap.add_argument("--only-score", action="store_true",
                    help="only the scoring part (no estimation rows, no real text)")
    ap.add_argument("--discount-fallback", action="store_true",
                    help="both estimators with --discount_fallback (at 10^8 structured tokens no unigram has an "
                         "adjusted count below 5: n1..n4 = 0, and neither can estimate that order's discounts)")
    args = ap.parse_args(argv)
    for name in ("lmplz", "query"):
        path = getattr(args, name)
        if not path or not os.access(path, os.X_OK):
            ap.error(f"--{name}: KenLM's {name} is needed (not found on PATH; give its path)")
    sys.path.insert(0, str(ROOT))
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; commit {_commit()}", flush=True)
    print(f"machine: {platform.node()} {platform.machine()} ({_cpu_model()}), {os.cpu_count()} CPUs, "
          f"{_mem_gib():.0f} GiB; python {platform.python_version()}, numpy {np.__version__}; kernels: "
          f"{_kernels_note()}; lmplz: {args.lmplz}", flush=True)
    print(f"load average before (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    print(f"bytecode: {_compile_bytecode()}", flush=True)
    from benchmarks.corpora import write_corpus

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        plan = [] if args.only_score else [(kind, int(n), o) for kind in args.kinds for n in args.sizes
                                           for o in args.orders]
        for kind, n, order in plan:
            path = os.path.join(tmp, f"{kind}{n}.txt")
            if not os.path.exists(path):
                for old in Path(tmp).glob("*.txt"):
                    old.unlink()
                write_corpus(path, kind, n, seed=n)
            row = estimation_row(f"{kind} {n:,}", path, order, tmp, args.lmplz, args.repeat, args.discount_fallback)
            row.update(kind=kind, n=n)
            rows.append(row)
            print(f"  {row['label']} o{order}: ours {_fmt(row['ours'])}, lmplz {_fmt(row['kenlm'])}, "
                  f"ratio {row['t_ratio']:.2f} ({row['m_ratio']:.2f}), load {row['load']:.2f}", flush=True)
        if not args.no_real_text and not args.only_score:
            try:
                import gensim.test.utils as gtu

                lee = gtu.datapath("lee_background.cor")
            except ImportError:
                lee = None
            if lee and os.path.exists(lee):
                # its last line has no newline: lmplz then counts that line's words but adds no </s> after them
                # (ours does, as for every line): both get a copy that ends with a newline
                real = os.path.join(tmp, "lee_background.cor")
                data = Path(lee).read_bytes()
                Path(real).write_bytes(data if data.endswith(b"\n") else data + b"\n")
                for order in args.orders:
                    row = estimation_row("gensim lee_background.cor", real, order, tmp, args.lmplz, args.repeat)
                    row.update(kind="real", n=sum(len(l.split()) for l in open(real, encoding="utf-8")))
                    rows.append(row)
                    print(f"  {row['label']} o{order}: ratio {row['t_ratio']:.2f} ({row['m_ratio']:.2f})", flush=True)
        score = None
        if args.score_tokens:
            score = scoring_rows(tmp, args.lmplz, args.query, args.build_binary, int(args.score_tokens),
                                 args.held_out_sentences, args.repeat)

    print(f"\nload average after (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
    print(f"Modified Kneser-Ney, end to end (start, read, estimate, write ARPA); medians of {args.repeat} alternating "
          "pairs; ratio = median of the per-pair ratios (ours / lmplz)\n")
    print("| corpus | tokens | order | n-grams | lmplz wall s / MiB (CPU s) | ours wall s / MiB (CPU s) | "
          "ratio wall (MiB) [CPU] | same n-grams | growth 10^6 -> 10^7 (ours, lmplz) | load |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        growth = ""
        small = [q for q in rows if q["kind"] == r["kind"] and q["order"] == r["order"] and q["n"] * 10 == r["n"]]
        if small:
            q = small[0]
            growth = (f"x{_median([x[0] for x in r['ours']]) / _median([x[0] for x in q['ours']]):.1f}, "
                      f"x{_median([x[0] for x in r['kenlm']]) / _median([x[0] for x in q['kenlm']]):.1f}")
        print(f"| {r['kind']} | {r['n']:,} | {r['order']} | {'/'.join(f'{c:,}' for c in r['counts'])} | "
              f"{_fmt(r['kenlm'])} | {_fmt(r['ours'])} | {r['t_ratio']:.2f} ({r['m_ratio']:.2f}) [{r['c_ratio']:.2f}] | "
              f"{r['same']} | "
              f"{growth} | {r['load']:.2f} |")
    print("\nall runs (wall s / MiB / CPU s):")
    for r in rows:
        print(f"  {r['label']} o{r['order']}: ours " + ", ".join(f"{t:.2f}/{m:.0f}/{c:.2f}" for t, m, c in r["ours"])
              + "; lmplz " + ", ".join(f"{t:.2f}/{m:.0f}/{c:.2f}" for t, m, c in r["kenlm"]))
    if score:
        runs = score["runs"]
        base = {"arpa": runs["query arpa"], "binary": runs.get("query binary", runs["query arpa"])}
        print(f"\nScoring {score['sentences']:,} held-out sentences ({score.get('tokens', 0):,} tokens with </s>) with "
              f"a trigram model of {int(args.score_tokens):,} structured tokens, end to end; medians of "
              f"{args.repeat} rounds; output identical to query's: {score.get('same_output')}; "
              f"lmverify ngram build took {score['build_s']:.2f} s; load {score['load']:.2f}\n")
        print("| command | wall s / MiB (CPU s) | ratio to query (same format) wall (MiB) [CPU] |")
        print("|---|---|---|")
        for name, rr in runs.items():
            fmt = "binary" if "binary" in name else "arpa"
            q = base[fmt]
            ratio = (f"{_median([a[0] / b[0] for a, b in zip(rr, q)]):.2f} "
                     f"({_median([a[1] / b[1] for a, b in zip(rr, q)]):.2f}) "
                     f"[{_median([a[2] / b[2] for a, b in zip(rr, q)]):.2f}]")
            print(f"| {name} | {_fmt(rr)} | {ratio} |")
        print("\nall runs (wall s / MiB / CPU s): " + "; ".join(f"{n}: " + ", ".join(f"{t:.2f}/{m:.0f}/{c:.2f}"
                                                                                    for t, m, c in rr)
                                               for n, rr in runs.items()))
        sc = score["sentence"]
        if "kenlm_us" in sc:
            print(f"\nOne sentence at a time: ours {sc['ours_us']:.2f} µs, kenlm.Model.score {sc['kenlm_us']:.2f} µs, "
                  f"ratio {sc['ours_us'] / sc['kenlm_us']:.2f}; largest |Δ log10| {sc['max_delta']:.1e}")
        else:
            print(f"\nOne sentence at a time: ours {sc['ours_us']:.2f} µs (kenlm package not installed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
