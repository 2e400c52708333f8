"""Benchmark: the student loop, ``pytest -k lstm --impl my_lstm.py``, beside the bare imports it cannot avoid.

    python benchmarks/bench_student_loop.py [-n 7] [-k lstm] [--impl tests/data/students/recurrent_page_student.py]

Runs, in turn (A B C A B C ...), after one warm-up of each:

  A  ``python -m pytest -q -p no:cacheprovider -k lstm --impl <student>`` from the project root (a correct LSTM
     student module: every selected test passes or skips for a function it does not define)
  B  ``python -c "import torch, sympy, numpy, hypothesis"`` (what any run of the suite imports)
  C  A with ``--collect-only``: the same start, plugins and collection, and no test run (the floor of A: what
     it costs before the first example is drawn; C/B above the goal means no speed-up of the tests alone
     can reach it)

and prints, for each, the median, minimum and maximum of its wall time and of its CPU time (user + system of the
process and the children it waited for), the A/B ratio of each pair (median, min, max), A's session time as
pytest reports it ("in X s": collection and tests, after the imports and the plugins), and the machine's load
before and after (``os.getloadavg``): the machine may be shared, so quote the medians of the ratios.

Both run without ``PYTHONDONTWRITEBYTECODE`` (a student's machine writes bytecode; without it pytest rewrites
the test modules again on every run). The issue's goal is A <= 1.3 B.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STUDENT = ROOT / "tests" / "data" / "students" / "recurrent_page_student.py"


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str, int]:
    """(wall s, CPU s of the process and its waited-for children, output, exit status)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, p.stdout + p.stderr, p.returncode


def _load() -> str:
    return "load average %.2f %.2f %.2f (1, 5, 15 min)" % os.getloadavg()


def _row(name: str, values: list[float]) -> str:
    return f"  {name:24s} {statistics.median(values):8.3f} {min(values):8.3f} {max(values):8.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=7, help="counted runs of each (default 7)")
    ap.add_argument("-k", default="lstm", help="the -k expression of the student's run (default lstm)")
    ap.add_argument("--impl", default=str(STUDENT), help="the student's module (default: a correct LSTM student)")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("-n must be at least 1")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    a_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", args.k, "--impl", args.impl]
    b_cmd = [sys.executable, "-c", "import torch, sympy, numpy, hypothesis"]
    c_cmd = a_cmd + ["--collect-only"]
    print(f"A = pytest -q -p no:cacheprovider -k {args.k} --impl {args.impl}")
    print("B = python -c 'import torch, sympy, numpy, hypothesis'")
    print("C = A --collect-only")
    print(f"before: {_load()}")
    runs: dict[str, list[tuple[float, float]]] = {"A": [], "B": [], "C": []}
    sessions: list[float] = []
    summary = ""
    for i in range(args.n + 1):  # the first round warms the caches (bytecode, rewritten tests, hypothesis' files)
        wall_a, cpu_a, out, code = _timed(a_cmd, env)
        if code not in (0,):
            print(f"A exited {code}; its output ends:\n{out[-2000:]}", file=sys.stderr)
            return 1
        wall_b, cpu_b, _, code_b = _timed(b_cmd, env)
        if code_b != 0:
            print(f"B exited {code_b}", file=sys.stderr)
            return 1
        wall_c, cpu_c, out_c, code_c = _timed(c_cmd, env)
        if code_c != 0:
            print(f"C exited {code_c}; its output ends:\n{out_c[-2000:]}", file=sys.stderr)
            return 1
        if i == 0:
            continue
        runs["A"].append((wall_a, cpu_a))
        runs["B"].append((wall_b, cpu_b))
        runs["C"].append((wall_c, cpu_c))
        m = re.search(r"(\d+ passed.*) in ([0-9.]+)s", out)
        if m:
            summary = m.group(1)
            sessions.append(float(m.group(2)))
    print(f"after:  {_load()}")
    print(f"A's tests: {summary}")
    print(f"runs counted: {args.n} of each, in turn, after one warm-up round")
    print(f"  {'seconds':24s} {'median':>8s} {'min':>8s} {'max':>8s}")
    for key in ("A", "B", "C"):
        print(_row(f"{key} wall", [w for w, _ in runs[key]]))
        print(_row(f"{key} cpu", [c for _, c in runs[key]]))
    if sessions:
        print(_row("A pytest session", sessions))
    print(_row("A/B wall (pair by pair)", [a[0] / b[0] for a, b in zip(runs["A"], runs["B"])]))
    print(_row("A/B cpu (pair by pair)", [a[1] / b[1] for a, b in zip(runs["A"], runs["B"])]))
    print(_row("C/B wall (the floor)", [c[0] / b[0] for c, b in zip(runs["C"], runs["B"])]))
    print(_row("C/B cpu (the floor)", [c[1] / b[1] for c, b in zip(runs["C"], runs["B"])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
