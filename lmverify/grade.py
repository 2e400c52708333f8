"""``lmverify grade``: a class's submissions against the suite, each in its own process, with limits.

Each submission (a ``.py`` file, or a folder with ``<topic>.py`` files or a single module) runs as
``pytest -k <topic> --impl ...`` in a subprocess of its own, under a wall-clock limit and an address
space limit, so an infinite loop, a module that calls ``os._exit`` at import or one that eats memory
takes down only its own run, which is recorded as such. Runs go in parallel (``--jobs``, default the
number of cores) on the ``ci`` hypothesis profile (derandomized: every student gets the same inputs).

Outputs in ``--output`` (default ``grades/``): ``results.csv`` and ``results.json`` (one row per student
and test: equation, outcome, hint), and ``summary.md`` (per student: passed / failed / skipped, the
equations failed, the hints). To spread a large class over several machines, split the submissions
folder and run one ``lmverify grade`` per machine (a job array), then concatenate the CSVs: each
student's run is independent.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lmverify.catalogue import PROJECT_ROOT, topics


@dataclass
class StudentRun:
    student: str
    impl: list[str]
    status: str = "ran"          # ran | timeout | crashed | no module
    detail: str = ""
    seconds: float = 0.0
    tests: list[dict] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for t in self.tests if t["outcome"] == outcome)


def run_pytest(*args: str, env: dict[str, str] | None = None, timeout: float = 300.0) -> subprocess.CompletedProcess:
    """``pytest ARGS`` in a subprocess at the project root (quiet, no cache), as a student would run it;
    bytecode is written so pytest's rewritten test modules are cached between runs."""
    full_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--no-header",
                           "-p", "no:randomly", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def submissions(folder: Path, topic: str) -> list[tuple[str, list[str]]]:
    """(student, --impl values) for each entry of the folder."""
    out = []
    for entry in sorted(Path(folder).iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_file() and entry.suffix == ".py":
            out.append((entry.stem, [str(entry.resolve())]))
        elif entry.is_dir():
            per_topic = [f"{t}={(entry / f'{t}.py').resolve()}" for t in topics() if (entry / f"{t}.py").is_file()]
            modules = sorted(entry.glob("*.py"))
            if per_topic:
                out.append((entry.name, per_topic))
            elif len(modules) == 1:
                out.append((entry.name, [str(modules[0].resolve())]))
            else:
                out.append((entry.name, []))
    return out


def _limits(memory_mib: int):
    def apply() -> None:
        import resource

        limit = memory_mib * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.setsid()

    return apply


def run_one(student: str, impl: list[str], topic: str, timeout: float, memory_mib: int, workdir: Path,
            call_timeout: float = 10.0, keyword: str | None = None) -> StudentRun:
    run = StudentRun(student, impl)
    if not impl:
        run.status, run.detail = "no module", "no .py file (or several without <topic>.py names) in the folder"
        return run
    results = workdir / f"{student}.json"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-k", f"{topic} and ({keyword})" if keyword else topic,
           f"--lmverify-results={results}", f"--impl-timeout={call_timeout}", "tests",
           *[f"--impl={i}" for i in impl]]
    env = dict(os.environ, CI="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # let pytest cache its rewritten test modules between students
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=_limits(memory_mib))
    except subprocess.TimeoutExpired:
        run.status, run.detail = "timeout", f"the run took longer than {timeout:g} s and was stopped"
        run.seconds = time.perf_counter() - start
        return run
    run.seconds = time.perf_counter() - start
    if results.is_file():
        run.tests = json.loads(results.read_text())
    if not results.is_file() or proc.returncode not in (0, 1, 5):
        run.status = "crashed"
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        run.detail = f"pytest exited with {proc.returncode}" + (f": {' | '.join(tail)}" if tail else "")
    return run


def grade(folder: Path, topic: str, *, jobs: int | None = None, timeout: float = 600.0, memory_mib: int = 4096,
          output: Path = Path("grades"), call_timeout: float = 10.0, keyword: str | None = None) -> list[StudentRun]:
    if topic not in topics():
        raise ValueError(f"--topic {topic!r}: unknown topic; expected one of {', '.join(topics())}")
    if not Path(folder).is_dir():
        raise ValueError(f"{folder}: no such folder of submissions")
    subs = submissions(Path(folder), topic)
    jobs = jobs or os.cpu_count() or 1
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(lambda s: run_one(s[0], s[1], topic, timeout, memory_mib, Path(tmp), call_timeout, keyword), subs))
    write(runs, output)
    return runs


def write(runs: list[StudentRun], output: Path) -> None:
    rows = []
    for r in runs:
        if not r.tests:
            rows.append({"student": r.student, "test": "", "equations": "", "outcome": r.status, "hint": "",
                         "message": r.detail})
        for t in r.tests:
            rows.append({"student": r.student, "test": t["nodeid"], "equations": " ".join(t["equations"]),
                         "outcome": t["outcome"], "hint": t.get("hint", ""), "message": t.get("message", "")})
    with open(output / "results.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["student", "test", "equations", "outcome", "hint", "message"])
        w.writeheader()
        w.writerows(rows)
    (output / "results.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    md = ["# Grades", "", "| student | status | passed | failed | skipped | seconds |", "|---|---|---|---|---|---|"]
    for r in runs:
        md.append(f"| {r.student} | {r.status} | {r.count('passed')} | {r.count('failed')} | {r.count('skipped')} "
                  f"| {r.seconds:.1f} |")
    for r in runs:
        md += ["", f"## {r.student}", ""]
        if r.detail:
            md.append(f"- {r.status}: {r.detail}")
        failed = sorted({e for t in r.tests if t["outcome"] == "failed" for e in t["equations"]})
        if failed:
            md.append(f"- equations failed: {', '.join(failed)}")
        for hint in sorted({t["hint"] for t in r.tests if t.get("hint")}):
            md.append(f"- {hint}")
        for msg in sorted({f"{' '.join(t['equations']) or t['nodeid']}: {t['message']}" for t in r.tests
                           if t["outcome"] == "failed" and t.get("message")})[:12]:
            md.append(f"- {msg}")
        if not r.detail and not failed:
            md.append(f"- every test that ran passed ({r.count('passed')}); {r.count('skipped')} skipped")
    (output / "summary.md").write_text("\n".join(md) + "\n", encoding="utf-8")
