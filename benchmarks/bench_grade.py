"""Benchmark: ``lmverify grade`` on a generated class, with hostile students, on this machine.

    python benchmarks/bench_grade.py [-n 300] [--topic attention] [--jobs 2] [--isolation forkserver]
                                     [--profile grade] [--timeout 60] [--impl-timeout 2] [--compare 0] [--keep DIR]

The class has ``n`` students (one ``.py`` file each): one of each hostile kind below, then correct and
wrong modules in turn. Correct: the project's NumPy reference re-exported (``from reference.numpy.<topic>
import *``) and, when present, ``tests/data/students/mistakes/<topic>/_correct.py`` (written from the page).
Wrong: every module of ``tests/data/students/mistakes/<topic>/`` (one known mistake each) when present,
and the attention students of ``tests/data/students/`` for the attention topic. About half the class is
correct.

Hostile students (each must be recorded as such; the script exits 1 if one is not):
  os_exit_at_import    ``os._exit(3)`` at import             -> status crashed, "while importing"
  sys_exit_at_import   ``sys.exit(3)`` at import             -> a failure naming sys.exit
  loop_at_import       ``while True: pass`` at import        -> a failure: importing took longer than the limit
  loop_in_function     softmax never returns                 -> a failure: ran past the time limit per call
  wall_clock           blocks SIGALRM and sleeps at import   -> status timeout (the parent kills it)
  prints_at_import     prints 64 MB at import                -> a failure: File too large
  prints_per_call      prints 1 MB per call of softmax       -> completes; File too large once past the cap
  memory_hog           asks for 1 GiB arrays at import until refused -> a failure: MemoryError

``--compare K`` then grades the first K correct and wrong students (alternately) four ways, side by side in the
same run: the old way (``--isolation subprocess --profile ci``: a new interpreter per student, 40 examples per
property test, failures shrunk), the forkserver with the ``ci`` profile, with ``grade-shrink`` and with ``grade``
(the default), and says whether each finds the same failed equations and hints as the old way.
It prints the machine's load (``uptime``) before and after: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lmverify.catalogue import FORMS
from lmverify.grade import grade  # noqa: E402

STUDENTS = ROOT / "tests" / "data" / "students"

HOSTILE = {
    "os_exit_at_import": ("import os\nos._exit(3)\n",
                          lambda r: r.status == "crashed" and "while importing" in r.detail),
    "sys_exit_at_import": ("import sys\nprint('training my model...')\nsys.exit(3)\n",
                           lambda r: r.status == "ran" and _said(r, "sys.exit(3)")),
    "loop_at_import": ("while True:\n    pass\n",
                       lambda r: r.status == "ran" and _said(r, "importing the module took longer")),
    "loop_in_function": ((STUDENTS / "infinite_loop.py").read_text(),
                         lambda r: r.status == "ran" and _said(r, "ran past the time limit")),
    "wall_clock": ("import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
                   "time.sleep(10**6)\n",
                   lambda r: r.status == "timeout"),
    "prints_at_import": ("print('x' * (64 * 1024 * 1024))\n",
                         lambda r: r.status == "ran" and _said(r, "File too large")),
    "prints_per_call": ("from reference.numpy.attention import softmax as _s\n\n\ndef softmax(z, tau=1.0):\n"
                        "    print('y' * (1 << 20))\n    return _s(z, tau)\n",
                        lambda r: r.status == "ran" and r.count("passed") + r.count("failed") > 0),
    "memory_hog": ("import numpy as np\nhoard = [np.empty(1 << 27) for _ in range(10**4)]  # 1 GiB each\n",
                   lambda r: r.status == "ran" and _said(r, "MemoryError")),
}


def _said(run, words: str) -> bool:
    return any(words in t.get("message", "") + t.get("hint", "") for t in run.tests)


def make_class(folder: Path, n: int, topic: str) -> dict[str, str]:
    """Write n students into folder; return {student: kind} (kind: a hostile name, 'correct:…' or 'wrong:…')."""
    correct = {"reference": f"from {FORMS['numpy'].format(topic=topic)} import *  # noqa: F401,F403\n"}
    mistakes = STUDENTS / "mistakes" / topic
    if (mistakes / "_correct.py").is_file():
        correct["page"] = (mistakes / "_correct.py").read_text()
    wrong = {p.stem: p.read_text() for p in sorted(mistakes.glob("*.py")) if not p.name.startswith("_")} \
        if mistakes.is_dir() else {}
    if topic == "attention":
        for name in ("unscaled_scores", "late_mask", "raises_on_batches", "wrong_signature", "broken_import", "empty"):
            wrong[name] = (STUDENTS / f"{name}.py").read_text()
    kinds: dict[str, str] = {}
    hostile = list(HOSTILE) if topic == "attention" else [h for h in HOSTILE if "call" not in h and "function" not in h]
    pool = []  # correct and wrong in turn: about half the class is correct
    for j in range(max(len(correct), len(wrong))):
        pool.append(("correct", list(correct)[j % len(correct)]))
        if wrong:
            pool.append(("wrong", list(wrong)[j % len(wrong)]))
    for i in range(n):
        name = f"s{i:03d}"
        if i < len(hostile):
            kind, text = hostile[i], HOSTILE[hostile[i]][0]
        else:
            group, which = pool[(i - len(hostile)) % len(pool)]
            kind, text = f"{group}:{which}", (correct if group == "correct" else wrong)[which]
        (folder / f"{name}.py").write_text(text)
        kinds[name] = kind
    return kinds


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime: not available"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=300, help="students in the class (default 300)")
    ap.add_argument("--topic", default="attention")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--isolation", default="forkserver", choices=("forkserver", "subprocess"))
    ap.add_argument("--profile", default="grade", help="hypothesis profile (grade: 10 examples, no shrinking; "
                                                       "grade-shrink; ci: 40 examples)")
    ap.add_argument("--timeout", type=float, default=60.0, help="wall-clock seconds per student (default 60)")
    ap.add_argument("--impl-timeout", type=float, default=2.0, help="seconds per call of a student function")
    ap.add_argument("--memory", type=int, default=4096, help="MiB of address space per student")
    ap.add_argument("--compare", type=int, default=0, metavar="K",
                    help="also grade K of the students four ways (old: subprocess + ci ... new), side by side")
    ap.add_argument("--keep", type=Path, default=None, help="write the class and the grades here (kept)")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-grade-"))
    cls = work / "class"
    if cls.exists():
        shutil.rmtree(cls)
    cls.mkdir(parents=True)
    kinds = make_class(cls, args.n, args.topic)
    n_correct, n_wrong = (sum(k.startswith(g) for k in kinds.values()) for g in ("correct", "wrong"))
    print(f"class: {args.n} students in {cls} ({n_correct} correct, {n_wrong} wrong, "
          f"{sum(':' not in k for k in kinds.values())} hostile)")
    print(f"before: {uptime()}")
    start = time.perf_counter()
    runs = grade(cls, args.topic, jobs=args.jobs, timeout=args.timeout, memory_mib=args.memory, output=work / "grades",
                 call_timeout=args.impl_timeout, isolation=args.isolation, profile=args.profile)
    total = time.perf_counter() - start
    print(f"after:  {uptime()}")
    by = {r.student: r for r in runs}
    ordinary = [r for r in runs if ":" in kinds[r.student]]
    print(f"\ngraded {len(runs)} students in {total:.1f} s with --jobs {args.jobs} ({args.isolation}, profile "
          f"{args.profile}): {total / len(runs):.2f} s of wall clock per student; mean time in a student's own "
          f"process {sum(r.seconds for r in ordinary) / max(1, len(ordinary)):.2f} s (correct and wrong students), "
          f"{sum(r.seconds for r in runs) / len(runs):.2f} s (all)")
    for group in ("correct", "wrong"):
        rs = [r for r in runs if kinds[r.student].startswith(group)]
        if rs:
            print(f"  {group}: {len(rs)} students, mean {sum(r.seconds for r in rs) / len(rs):.2f} s, "
                  f"max {max(r.seconds for r in rs):.2f} s")
    bad = []
    print("\nhostile students:")
    for name, kind in kinds.items():
        if ":" in kind:
            continue
        r = by[name]
        ok = HOSTILE[kind][1](r)
        bad += [] if ok else [name]
        what = r.detail or next((t["message"] for t in r.tests if t["outcome"] == "failed"), "") or \
            f"{r.count('passed')} passed, {r.count('failed')} failed"
        print(f"  {'ok ' if ok else 'BAD'} {name} {kind:<19} {r.status:<8} {r.seconds:6.1f} s  {what[:110]}")
    wrong_passed = [r.student for r in runs if kinds[r.student].startswith("wrong") and r.count("failed") == 0
                    and r.count("passed") > 0]
    correct_failed = [r.student for r in runs if kinds[r.student].startswith("correct")
                      and (r.status != "ran" or r.count("failed") or any(t.get("hint") for t in r.tests))]
    print(f"\ncorrect students with a failure or a hint: {correct_failed or 'none'}")
    print(f"wrong students with no failure: {sorted({kinds[s] for s in wrong_passed}) or 'none'}")
    if args.compare:
        sample = [cls / f"{r.student}.py" for r in runs if ":" in kinds[r.student]][:args.compare]
        side = work / "compare"
        shutil.rmtree(side, ignore_errors=True)
        side.mkdir()
        reference = None
        for p in sample:
            shutil.copy(p, side / p.name)
        for isolation, profile in (("subprocess", "ci"), ("forkserver", "ci"), ("forkserver", "grade-shrink"),
                                   ("forkserver", "grade")):
            t = time.perf_counter()
            rs = grade(side, args.topic, jobs=args.jobs, timeout=args.timeout, memory_mib=args.memory,
                       output=work / f"grades-{isolation}-{profile}", call_timeout=args.impl_timeout,
                       isolation=isolation, profile=profile)
            dt = time.perf_counter() - t
            failed = sorted((r.student, sorted({e for t in r.tests if t["outcome"] == "failed"
                                                for e in t["equations"]}),
                             sorted({t["hint"] for t in r.tests if t.get("hint")})) for r in rs)
            same = "" if reference is None else (
                "; same failed equations and hints as the first line" if failed == reference
                else "; DIFFERENT failed equations or hints from the first line")
            reference = failed if reference is None else reference
            print(f"compare: {len(rs)} students, {isolation:<10} profile {profile:<12}: {dt:6.1f} s, "
                  f"{dt / len(rs):.2f} s of wall clock per student, {sum(r.seconds for r in rs) / len(rs):.2f} s "
                  f"mean in its process{same}")
        print(f"after:  {uptime()}")
    print(f"\ngrades in {work / 'grades'}")
    if not args.keep:
        shutil.rmtree(cls, ignore_errors=True)
    return 1 if bad or correct_failed else 0


if __name__ == "__main__":
    sys.exit(main())
