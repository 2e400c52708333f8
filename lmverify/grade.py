"""``lmverify grade``: a class's submissions against the suite, each student in a process of its own, with limits.

How a student is run
  Each submission (a ``.py`` file, or a folder with ``<topic>.py`` files or a single module) is graded by
  ``pytest.main(["-k", topic, "-m", topic, "--impl", ...])`` in a process of its own. The process is forked
  from Python's ``multiprocessing`` *forkserver*, started once per grading run with the heavy modules
  (NumPy, SciPy, SymPy, torch, hypothesis, pytest and its plugins, the project, the topic's references)
  already imported (``set_forkserver_preload``): a student costs a fork (milliseconds), pytest's
  configuration and collection, and the topic's tests, instead of a new interpreter that imports all of
  it again (about 2.5 s of the 6 to 11 s a student took as ``python -m pytest`` on this 2-core machine).
  Where the forkserver is not available (not POSIX), each student runs the same child code in a new
  interpreter (``isolation="subprocess"``, the slow path).

Containment (each limit ends only that student's run, which is recorded as such)
  - wall clock: the parent kills the student's process group after ``timeout`` seconds (``status="timeout"``);
  - the student's code never runs in that pytest process: ``pytest --impl`` runs the student's functions in a
    process of its own (:mod:`lmverify.students.isolation`: namespaces, private folder, limits), so what the
    student's code patches, reads or ends is its own process; the results the grader reads are written by the
    pytest process, after every student's process has ended;
  - one call of a student function: ``--impl-timeout`` (the per-call limit; the test fails naming it);
  - the import of the student's module: the same limit, so an endless loop at import fails once and the
    other tests skip, instead of each test waiting for the wall clock;
  - the working directory of the student's pytest process is a fresh temporary folder (never the project's
    root), and the student's own process works in another one;
  - memory: ``RLIMIT_AS`` (address space, ``memory_mib``): a hog gets a ``MemoryError`` in its own code;
  - output: stdout and stderr of the student's process go to a file, and ``RLIMIT_FSIZE`` (``output_mib``) caps
    every file it writes: megabytes of printing end in ``OSError: File too large`` in the student's code;
  - ``sys.exit``, ``os._exit`` or a fatal signal in the student's code ends only the student's process: the
    test fails naming the exit status or signal (at import: every test that needs the module fails); a pytest
    process that ends otherwise is ``status="crashed"``, saying in which test.
  These are limits against mistakes, not a security sandbox: student code runs with the grader's user rights.

The tests run on the ``grade`` hypothesis profile: derandomized (every student gets the same inputs, and a
rerun gives the same grades), ``GRADE_EXAMPLES`` examples per property test instead of the ``ci`` profile's
40, and no shrinking (a failure shows the first input that failed, not a minimal one: shrinking took most of
a wrong student's time). On the deliberately wrong modules of ``tests/data/students/mistakes/`` (one known
mistake each) it fails the same equations with the same hints as ``ci``; see docs/grading.md.
``profile="grade-shrink"`` shrinks failures; ``profile="ci"`` is the suite's own profile.

Outputs in ``output`` (default ``grades/``)
  - ``results.csv`` / ``results.json``: one row per student and test (student, status, test, equations,
    outcome passed/failed/skipped, hint, message), or one row per student whose run did not complete;
  - ``equations.csv`` / ``equations.json``: one row per student and equation (passed, failed, skipped, hints);
  - ``summary.md``: the class table and a section per student; ``students/<student>.md``: the same section,
    one file per student, to hand back.

  - ``runs.json``: every run as a whole (for :func:`merge`).

Every student's process has ``PYTHONHASHSEED=0`` (the same set and dict orders everywhere) and the code
of the project as it was when the forkserver started (a change made during a run reaches the next run).
A script that calls :func:`grade` needs the ``if __name__ == "__main__":`` guard of every
``multiprocessing`` program: each child imports the main module again.

Spreading a class over several machines: ``shard=(k, n)`` in each task of a job array, then :func:`merge`
(see ``docs/grading.md``); every student's run is independent.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lmverify.catalogue import PROJECT_ROOT, topics

# Under `python -m lmverify.grade`, each forkserver child runs this module again as its main module
# (multiprocessing's rule) although the forkserver has imported it: runpy's warning about that tells a user nothing.
warnings.filterwarnings("ignore", message=r"'lmverify\.grade' found in sys\.modules", category=RuntimeWarning)

#: examples per hypothesis property test in the ``grade`` profile (the ``ci`` profile runs 40)
GRADE_EXAMPLES = 10

#: the modules every student's process needs, imported once in the forkserver (plus the topic's own)
PRELOAD = (
    "numpy", "scipy", "scipy.special", "scipy.stats", "sympy", "torch", "torch.nn", "torch.nn.functional", "yaml",
    "hypothesis", "hypothesis.strategies", "hypothesis.extra.numpy", "_hypothesis_pytestplugin",
    "pytest", "_pytest.python", "xdist.plugin", "xdist.looponfail", "nbmake.pytest_plugin",
    "pytest_regressions.plugin", "pytest_datadir.plugin", "platformdirs",
    "lmverify.pytest_plugin", "lmverify.backends", "lmverify.check", "lmverify.compare", "lmverify.convert",
    "lmverify.strategies", "lmverify.tolerance", "lmverify.registry", "lmverify.selection", "lmverify.grade",
    "lmverify.students.isolation",
)


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
    """``pytest ARGS`` in a process of its own at the project root (quiet, no cache), as a student would run it.

    The process is forked from the forkserver preloaded with the project (as the grader's students are), so a
    run costs its collection and tests, not an interpreter start and the imports of torch and SymPy (about
    2 s each); its stdout and stderr come back together in ``stdout``. Where the forkserver is unavailable,
    or ``LMVERIFY_RUN_PYTEST=subprocess``, it is a new interpreter, with stdout and stderr apart.
    """
    argv = ["-p", "no:cacheprovider", "-q", "--no-header", "-p", "no:randomly", *args]
    ctx = _forkserver("all") if os.environ.get("LMVERIFY_RUN_PYTEST", "fork") != "subprocess" else None
    if ctx is None:
        full_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        full_env.update(env or {})
        return subprocess.run([sys.executable, "-m", "pytest", *argv], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, env=full_env, timeout=timeout)
    with tempfile.TemporaryDirectory(prefix="lmverify-pytest-") as tmp:
        job = {"args": argv, "log": str(Path(tmp) / "log"), "env": dict(env or {}), "exitcode": str(Path(tmp) / "exit"),
               "environ": {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}}
        proc = ctx.Process(target=_pytest_child, args=(job,), name="lmverify-pytest")
        proc.start()
        proc.join(timeout)
        if proc.exitcode is None:
            _kill(proc.pid)
            proc.join()
            raise subprocess.TimeoutExpired(["pytest", *argv], timeout)
        out = Path(job["log"]).read_text(encoding="utf-8", errors="replace") if Path(job["log"]).exists() else ""
        code = proc.exitcode
        if code == 255 and Path(job["exitcode"]).is_file():  # the forkserver lost the status (see _exit_after)
            code = int(Path(job["exitcode"]).read_text(encoding="utf-8") or 255)
        return subprocess.CompletedProcess(["pytest", *argv], code, out, "")


def _output_to(log: str) -> None:
    """The process's stdout and stderr (file descriptors 1 and 2) into the log file."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _exit_after(what: str, code: int, exc: BaseException | None, record: str | None = None) -> None:
    """End a child process: the exception (if any) in its log, the streams flushed, the exit code written to
    ``record`` (multiprocessing reports 255 when it cannot read a forkserver child's status), then ``os._exit``."""
    try:
        if exc is not None:
            print(f"{what} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        if record:
            with open(record, "w", encoding="utf-8") as f:
                f.write(str(code))
    except BaseException:  # noqa: BLE001 - nothing more can be said; the exit code says it failed
        pass
    os._exit(code)


def _pytest_child(job: dict) -> None:
    """``run_pytest``'s process: the caller's environment (less pytest's own variables), the project root,
    output to a log; never returns."""
    import gc

    code, failure = 70, None
    try:
        os.setsid()
        _output_to(job["log"])
        os.environ.clear()
        os.environ.update(job["environ"])
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ.update(job["env"])
        os.chdir(PROJECT_ROOT)
        sys.dont_write_bytecode = False
        if str(PROJECT_ROOT) not in sys.path:
            sys.path.insert(0, str(PROJECT_ROOT))
        gc.freeze()
        import pytest

        code = int(pytest.main(job["args"]))
    except BaseException as exc:  # noqa: BLE001 - reported in the log; the exit code says it failed
        failure = exc
    finally:
        _exit_after("lmverify: the pytest process", code, failure, job["exitcode"])


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


# -- the student's process ---------------------------------------------------------------------------

def _register_profile() -> None:
    """``grade``: the ``ci`` profile (derandomized) with ``GRADE_EXAMPLES`` examples and no shrinking (a failure
    is reported on the first input that fails); ``grade-shrink``: the same, shrinking failures to a small input."""
    from hypothesis import Phase, settings

    from lmverify import pytest_plugin  # noqa: F401 - registers the suite's profiles ('ci' is the parent)

    ci = settings.get_profile("ci")
    settings.register_profile("grade-shrink", parent=ci, max_examples=GRADE_EXAMPLES)
    settings.register_profile("grade", parent=ci, max_examples=GRADE_EXAMPLES,
                              phases=tuple(p for p in ci.phases if p is not Phase.shrink))


def pytest_args(job: dict) -> list[str]:
    """The pytest command line of one student (also what a student can run to reproduce a grade)."""
    topic, keyword = job["topic"], job.get("keyword")
    return ["-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--show-capture=no",
            "-k", f"{topic} and ({keyword})" if keyword else topic, "-m", topic,
            f"--hypothesis-profile={job['profile']}", f"--impl-timeout={job['call_timeout']:g}",
            f"--impl-array={job.get('array_api', 'numpy')}", f"--rootdir={PROJECT_ROOT}",
            f"--lmverify-results={job['results']}", str(PROJECT_ROOT / "tests"), *[f"--impl={i}" for i in job["impl"]]]


class _Progress:
    """A pytest plugin of the student's process: which test started and ended, and the student module's import,
    one line each as it happens, so that a process that dies says where."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "a", buffering=1, encoding="utf-8")

    def note(self, **what: str) -> None:
        try:
            self.file.write(json.dumps(what) + "\n")
        except OSError:
            pass

    def pytest_runtest_logstart(self, nodeid: str, location) -> None:  # noqa: ANN001
        self.note(start=nodeid)

    def pytest_runtest_logfinish(self, nodeid: str, location) -> None:  # noqa: ANN001
        self.note(end=nodeid)


def _child(job: dict) -> None:
    """One student's run, in its own process (forked from the forkserver, or a new interpreter). Never returns."""
    import gc
    import resource

    code, failure = 70, None
    try:
        os.setsid()  # its own process group: the parent's kill on the wall clock reaches what it started
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the file-size cap, a write fails (EFBIG) instead
        fsize = job["output_mib"] * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        if job["memory_mib"]:
            mem = job["memory_mib"] * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        _output_to(job["log"])
        os.chdir(job["cwd"])  # a private folder: never the project's root (a student's relative path lands here)
        sys.dont_write_bytecode = False  # pytest caches its rewritten test modules for the next student
        if str(PROJECT_ROOT) not in sys.path:
            sys.path.insert(0, str(PROJECT_ROOT))
        gc.freeze()  # the preloaded modules: not scanned again by this process's collections
        import pytest

        _register_profile()
        progress = _Progress(job["progress"])
        code = int(pytest.main(pytest_args(job), plugins=[progress]))
    except BaseException as exc:  # noqa: BLE001 - reported through the log; the exit code says it failed
        failure = exc
    finally:
        _exit_after("lmverify grade: the student's process", code, failure, job.get("exitcode"))


# -- the parent ----------------------------------------------------------------------------------------

def _preload(topic: str) -> list[str]:
    mods = list(PRELOAD)
    for t in topics():  # every topic's: the generic tests' collection reads every registry
        for form in ("reference.numpy", "reference.torch", "specs", "lmverify.registry"):
            mods.append(f"{form}.{t}")
    if topic == "embeddings":
        mods.append("gensim")
    return mods


def _child_env() -> dict[str, str]:
    # no PYTEST_* variable (PYTEST_ADDOPTS=-x, an xdist worker's): every student runs the project's configuration
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("PYTEST_")}
    # PYTHONHASHSEED: the same set and dict orders in every student's process, in every run, on every machine
    env.update(CI="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", PYTHONHASHSEED="0")
    env["PYTHONPATH"] = os.pathsep.join([str(PROJECT_ROOT)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
    return env


def _forkserver(topic: str):
    """The multiprocessing forkserver context, started (once per process) with the heavy modules imported
    and the children's environment; None where it is not available."""
    import multiprocessing
    from multiprocessing import forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    ctx = multiprocessing.get_context("forkserver")
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(_child_env())
        ctx.set_forkserver_preload(_preload(topic))  # only the first start of the forkserver reads it
        forkserver.ensure_running()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    ready = ctx.Process(target=_ready)  # returns once the preloading is done: not counted in a student's time
    ready.start()
    ready.join()
    return ctx


def _ready() -> None:
    pass


def _start(job: dict, ctx):  # noqa: ANN001, ANN202
    """Start the student's process; return (pid, wait(timeout) -> exit code or None)."""
    if ctx is not None:
        proc = ctx.Process(target=_child, args=(job,), name=f"grade-{job['student']}", daemon=False)
        proc.start()

        def wait(timeout: float | None):  # noqa: ANN202
            proc.join(timeout)
            return proc.exitcode

        return proc.pid, wait
    proc = subprocess.Popen(
        [sys.executable, "-c", "import json, sys; from lmverify.grade import _child; _child(json.loads(sys.argv[1]))",
         json.dumps(job)], cwd=PROJECT_ROOT, env=_child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)

    def wait_sub(timeout: float | None):  # noqa: ANN202
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    return proc.pid, wait_sub


def _kill(pid: int) -> None:
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
            return
        except (ProcessLookupError, PermissionError):
            continue


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _where(progress: Path) -> str:
    """Where the student's process was when it ended, from its progress file."""
    importing, running = None, None
    try:
        lines = progress.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            note = json.loads(line)
        except ValueError:
            continue
        if "importing" in note:
            importing = note["importing"]
        elif "imported" in note:
            importing = None
        elif "start" in note:
            running = note["start"]
        elif "end" in note:
            running = None
    if importing:
        return f"while importing {importing}"
    if running:
        return f"in test {running}"
    return "before any test ran" if not lines else "after the tests ran"


def _tail(log: Path, n: int = 3) -> str:
    try:
        with open(log, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 4000))
            lines = f.read().decode("utf-8", "replace").strip().splitlines()[-n:]
    except OSError:
        return ""
    return " | ".join(line.strip()[:200] for line in lines)


def run_one(student: str, impl: list[str], topic: str, timeout: float, memory_mib: int, workdir: Path,
            call_timeout: float = 10.0, keyword: str | None = None, *, ctx=None, profile: str = "grade",  # noqa: ANN001
            output_mib: int = 16, array_api: str = "numpy") -> StudentRun:
    """Grade one student in a process of its own (forked from ``ctx``, a forkserver context, or a new
    interpreter when ``ctx`` is None) and read back its results."""
    run = StudentRun(student, impl)
    if not impl:
        run.status, run.detail = "no module", "no .py file (or several without <topic>.py names) in the folder"
        return run
    stem = f"{abs(hash(student)):x}-{len(student)}"
    cwd = workdir / f"{stem}.cwd"
    cwd.mkdir(exist_ok=True)
    job = {"student": student, "impl": impl, "topic": topic, "keyword": keyword, "profile": profile,
           "array_api": array_api, "cwd": str(cwd),
           "call_timeout": call_timeout, "memory_mib": memory_mib, "output_mib": output_mib,
           "results": str(workdir / f"{stem}.json"), "progress": str(workdir / f"{stem}.progress"),
           "log": str(workdir / f"{stem}.log"), "exitcode": str(workdir / f"{stem}.exit")}
    results = Path(job["results"])
    start = time.perf_counter()
    try:
        pid, wait = _start(job, ctx)
    except Exception:  # noqa: BLE001 - the forkserver is gone (a student killed it?): this one in a new interpreter
        pid, wait = _start(job, None)
    code = wait(timeout)
    if code is None:
        _kill(pid)
        code = wait(None)
        run.seconds = time.perf_counter() - start
        run.status = "timeout"
        run.detail = (f"the run took longer than {timeout:g} s and was stopped "
                      f"({_where(Path(job['progress']))})")
        return run
    run.seconds = time.perf_counter() - start
    recorded = Path(job["exitcode"])
    if code == 255 and recorded.is_file():  # the forkserver lost the status; the child wrote it down
        try:
            code = int(recorded.read_text(encoding="utf-8"))
        except ValueError:
            pass
    if results.is_file():
        try:
            run.tests = json.loads(results.read_text(encoding="utf-8"))
        except ValueError:
            run.tests = []
    if not results.is_file() or code not in (0, 1, 5):
        run.status = "crashed"
        how = f"was killed by {_signal_name(code)}" if code < 0 else f"exited with code {code}"
        if code == -signal.SIGKILL:
            how += " (out of memory?)"
        where = _where(Path(job["progress"]))
        if code > 0 and where.startswith("while importing"):
            how += " (os._exit at import?)"
        tail = _tail(Path(job["log"])) if code in (2, 3, 4, 70) else ""
        run.detail = f"the student's process {how} {where}" + (f": {tail}" if tail else "")
    return run


def grade(folder: Path, topic: str, *, jobs: int | None = None, timeout: float = 600.0, memory_mib: int = 4096,
          output: Path = Path("grades"), call_timeout: float = 10.0, keyword: str | None = None,
          isolation: str = "forkserver", profile: str = "grade", output_mib: int = 16,
          shard: tuple[int, int] | None = None, array_api: str = "numpy") -> list[StudentRun]:
    """Grade every submission of ``folder`` on ``topic``'s tests; write the tables and summaries to ``output``.

    ``isolation``: ``"forkserver"`` (a fork of a preloaded process per student; falls back to ``"subprocess"``
    where not available) or ``"subprocess"`` (a new interpreter per student). ``profile``: the hypothesis profile
    (``grade``: derandomized, ``GRADE_EXAMPLES`` examples, no shrinking; ``grade-shrink``; ``ci``: 40).
    ``shard=(k, n)``: only the students whose place in the sorted folder is k modulo n (task k of a job array
    of n; :func:`merge` joins the outputs).
    """
    if topic not in topics():
        raise ValueError(f"--topic {topic!r}: unknown topic; expected one of {', '.join(topics())}")
    if not Path(folder).is_dir():
        raise ValueError(f"{folder}: no such folder of submissions")
    if isolation not in ("forkserver", "subprocess"):
        raise ValueError(f"isolation {isolation!r}: expected 'forkserver' or 'subprocess'")
    if array_api not in ("numpy", "torch"):
        raise ValueError(f"--impl-array {array_api!r}: expected 'numpy' or 'torch'")
    import math

    if not (isinstance(call_timeout, (int, float)) and math.isfinite(call_timeout) and call_timeout > 0):
        raise ValueError(f"--impl-timeout {call_timeout!r}: expected a positive, finite number of seconds per call")
    subs = submissions(Path(folder), topic)
    if shard is not None:
        k, n = shard
        if not (n >= 1 and 0 <= k < n):
            raise ValueError(f"shard {k}/{n}: expected K/N with 0 <= K < N")
        subs = subs[k::n]
    jobs = jobs or os.cpu_count() or 1
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    ctx = _forkserver(topic) if isolation == "forkserver" and any(impl for _, impl in subs) else None
    with tempfile.TemporaryDirectory(prefix="lmverify-grade-") as tmp, ThreadPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(lambda s: run_one(s[0], s[1], topic, timeout, memory_mib, Path(tmp), call_timeout,
                                               keyword, ctx=ctx, profile=profile, output_mib=output_mib,
                                               array_api=array_api), subs))
    write(runs, output)
    return runs


# -- the tables --------------------------------------------------------------------------------------

def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def equation_rows(runs: list[StudentRun]) -> list[dict]:
    """One row per student and equation: passed, failed, skipped, and the hints of its failures."""
    rows = []
    for r in runs:
        if not r.tests:
            rows.append({"student": r.student, "status": r.status, "equation": "", "passed": 0, "failed": 0,
                         "skipped": 0, "hints": r.detail})
            continue
        per: dict[str, dict] = {}
        for t in r.tests:
            for eq in t["equations"] or [""]:
                row = per.setdefault(eq, {"student": r.student, "status": r.status, "equation": eq, "passed": 0,
                                          "failed": 0, "skipped": 0, "hints": []})
                row[t["outcome"]] = row.get(t["outcome"], 0) + 1
                if t.get("hint") and t["hint"] not in row["hints"]:
                    row["hints"].append(t["hint"])
        for eq in sorted(per):
            rows.append({**per[eq], "hints": " ; ".join(per[eq]["hints"])})
    return rows


def student_markdown(r: StudentRun) -> list[str]:
    md = [f"## {r.student}", ""]
    if r.detail:
        md.append(f"- {r.status}: {r.detail}")
    if r.tests:
        md.append(f"- {r.count('passed')} passed, {r.count('failed')} failed, {r.count('skipped')} skipped")
    failing = [t for t in r.tests if t["outcome"] == "failed"]
    failed = sorted({e for t in failing for e in _tested(t)})
    if failed:
        md.append(f"- equations failed: {', '.join(failed)}")
    # a failing test of several equations whose functions the student's code was not called for: not blamed
    unblamed = sorted({e for t in failing for e in t["equations"]} - set(failed))
    if unblamed:
        md.append(f"- in a failing test, but their functions were not called: {', '.join(unblamed)}")
    for hint in sorted({t["hint"] for t in r.tests if t.get("hint")}):
        md.append(f"- {hint}")
    for msg in sorted({f"{' '.join(t['equations']) or t['nodeid']}: {t['message']}" for t in r.tests
                       if t["outcome"] == "failed" and t.get("message")})[:12]:
        md.append(f"- {msg}")
    # an equation ran where a test that passed or failed called its function (a test of two equations that called
    # one function ran only that one)
    ran = {e for t in r.tests if t["outcome"] in ("passed", "failed") for e in _tested(t)}
    skipped = {e for t in r.tests if t["outcome"] == "skipped" for e in t["equations"]} - ran
    # "not implemented" only where no test of the equation ran and a skip says a function is missing or raises
    # NotImplementedError; an equation skipped for another reason (no course pages, not covered) says so apart
    missing = sorted({e for t in r.tests if t["outcome"] == "skipped" and _not_written(t.get("message", ""))
                      for e in t["equations"]} & skipped)
    if missing:
        md.append(f"- not implemented (skipped): {', '.join(missing)}")
    declined = sorted({e for t in r.tests if t["outcome"] == "skipped" and t.get("declined") == "all"
                       for e in t["equations"]} & skipped - set(missing))
    if declined:
        md.append(f"- not covered (the student's code declined every input of the test): {', '.join(declined)}")
    partly = sorted({e for t in r.tests if t["outcome"] == "passed" and t.get("declined") == "some"
                     for e in _tested(t)})
    if partly:
        md.append(f"- passed on the inputs the student's code accepted, some declined (not covered; see "
                  f"results.csv): {', '.join(partly)}")
    other = sorted(skipped - set(missing) - set(declined))
    if other:
        md.append(f"- not run (skipped for another reason; see results.csv): {', '.join(other)}")
    if not r.detail and not failed:
        md.append(f"- every test that ran passed ({r.count('passed')}); {r.count('skipped')} skipped")
    return md


def _tested(t: dict) -> list[str]:
    """The equations of a test whose functions the test called in the student's code (all of them when the
    test's record does not say which functions it called: results of an older run)."""
    called = t.get("functions")
    if not called:
        return list(t["equations"])
    from lmverify import catalogue

    out = []
    for e in t["equations"]:
        entry = catalogue.find(e)
        if entry is None or catalogue.function_of(entry)[1] in called:
            out.append(e)
    return out or list(t["equations"])


def _not_written(message: str) -> bool:
    """Whether a skip's message says the student's function is missing or raises NotImplementedError (the
    harness's own wording: lmverify/backends.py, lmverify/students/isolation.py)."""
    return " does not define " in message or "raises NotImplementedError" in message


def _safe_name(student: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in student).lstrip(".") or "_"


def merge(parts: list[Path], output: Path) -> list[StudentRun]:
    """Join the outputs of several ``grade`` runs (the tasks of a job array) into one set of tables."""
    runs: dict[str, StudentRun] = {}
    for part in parts:
        path = Path(part) / "runs.json"
        if not path.is_file():
            raise ValueError(f"{part}: no runs.json (not the output folder of `lmverify grade`)")
        for r in json.loads(path.read_text(encoding="utf-8")):
            if r["student"] in runs:
                raise ValueError(f"{part}: student {r['student']!r} is also in another part (overlapping shards?)")
            runs[r["student"]] = StudentRun(**r)
    merged = [runs[s] for s in sorted(runs)]
    Path(output).mkdir(parents=True, exist_ok=True)
    write(merged, Path(output))
    return merged


def write(runs: list[StudentRun], output: Path) -> None:
    output = Path(output)
    (output / "runs.json").write_text(json.dumps([r.__dict__ for r in runs], indent=1), encoding="utf-8")
    rows = []
    for r in runs:
        if not r.tests:
            rows.append({"student": r.student, "status": r.status, "test": "", "equations": "", "outcome": r.status,
                         "hint": "", "message": r.detail})
        for t in r.tests:
            rows.append({"student": r.student, "status": r.status, "test": t["nodeid"],
                         "equations": " ".join(t["equations"]), "outcome": t["outcome"], "hint": t.get("hint", ""),
                         "message": t.get("message", "")})
    with open(output / "results.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["student", "status", "test", "equations", "outcome", "hint", "message"])
        w.writeheader()
        w.writerows(rows)
    (output / "results.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    eq_rows = equation_rows(runs)
    with open(output / "equations.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["student", "status", "equation", "passed", "failed", "skipped", "hints"])
        w.writeheader()
        w.writerows(eq_rows)
    (output / "equations.json").write_text(json.dumps(eq_rows, indent=1), encoding="utf-8")
    md = ["# Grades", "", "| student | status | passed | failed | skipped | seconds |", "|---|---|---|---|---|---|"]
    for r in runs:
        md.append(f"| {_cell(r.student)} | {r.status} | {r.count('passed')} | {r.count('failed')} "
                  f"| {r.count('skipped')} | {r.seconds:.1f} |")
    per_student = output / "students"
    per_student.mkdir(exist_ok=True)
    for r in runs:
        section = student_markdown(r)
        md += [""] + section
        (per_student / f"{_safe_name(r.student)}.md").write_text("\n".join([section[0][1:]] + section[1:]) + "\n",
                                                                 encoding="utf-8")
    (output / "summary.md").write_text("\n".join(md) + "\n", encoding="utf-8")


# -- command line (``lmverify grade``; also ``python -m lmverify.grade``) -------------------------------

def add_arguments(gr) -> None:  # noqa: ANN001 - an argparse parser
    """The options of ``lmverify grade``."""
    gr.add_argument("submissions", nargs="?", help="folder: one .py file per student, or one folder per student")
    gr.add_argument("--topic", help="the topic whose tests grade the submissions")
    gr.add_argument("--jobs", type=int, default=None, help="students graded at once (default: the number of cores)")
    gr.add_argument("--timeout", type=float, default=600.0, help="wall-clock seconds per student (default 600)")
    gr.add_argument("-k", dest="keyword", default=None,
                    help="only the topic's tests that also match this -k expression")
    gr.add_argument("--impl-timeout", type=float, default=10.0, help="seconds per call of a student's function "
                                                                     "(and for importing the module; default 10)")
    gr.add_argument("--impl-array", choices=("numpy", "torch"), default="numpy",
                    help="what the students' functions receive: numpy arrays (default) or torch tensors")
    gr.add_argument("--memory", type=int, default=4096, help="MiB of address space per student (default 4096)")
    gr.add_argument("--output-mib", type=int, default=16, help="MiB per file a student's process may write, "
                                                               "its printing included (default 16)")
    gr.add_argument("--isolation", choices=("forkserver", "subprocess"), default="forkserver",
                    help="forkserver: fork a preloaded process per student (default); subprocess: a new interpreter")
    gr.add_argument("--profile", default="grade", help=f"hypothesis profile (default grade: derandomized, "
                                                       f"{GRADE_EXAMPLES} examples per property test, no shrinking; "
                                                       "grade-shrink: shrinks failures; ci: 40 examples, shrinks)")
    gr.add_argument("--shard", default=None, metavar="K/N",
                    help="grade only every N-th student from the K-th (0-based): task K of a job array of N")
    gr.add_argument("--merge", nargs="+", default=None, metavar="DIR",
                    help="join the output folders of several runs (shards) into --output; grades nothing")
    gr.add_argument("-o", "--output", default="grades", help="folder for the results (default grades/)")


def run(args) -> int:  # noqa: ANN001 - argparse namespace
    """``lmverify grade``: prints the summary; returns 0, or 2 on a usage error (message on stderr)."""
    try:
        if args.merge:
            runs = merge([Path(p) for p in args.merge], Path(args.output))
        else:
            if not args.submissions or not args.topic:
                raise ValueError("give the submissions folder and --topic (or --merge DIR...)")
            shard = None
            if args.shard:
                k, sep, n = args.shard.partition("/")
                if not (sep and k.isdigit() and n.isdigit()):
                    raise ValueError(f"--shard {args.shard!r}: expected K/N, e.g. 0/4")
                shard = (int(k), int(n))
            runs = grade(Path(args.submissions), args.topic, jobs=args.jobs, timeout=args.timeout,
                         memory_mib=args.memory, output=Path(args.output), call_timeout=args.impl_timeout,
                         keyword=args.keyword, isolation=args.isolation, profile=args.profile,
                         output_mib=args.output_mib, shard=shard, array_api=args.impl_array)
    except ValueError as exc:
        print(f"lmverify grade: {exc}", file=sys.stderr)
        return 2
    print((Path(args.output) / "summary.md").read_text(encoding="utf-8"), end="")
    print(f"lmverify: graded {len(runs)} submission(s); results in {args.output}/", file=sys.stderr)
    return 0


def register(subparsers) -> None:  # noqa: ANN001
    """Add the ``grade`` subcommand to the CLI's subparsers (``set_defaults(func=run)``)."""
    gr = subparsers.add_parser("grade", help="run a class's submissions against a topic's tests, each in a process "
                                             "of its own with limits; write results.csv/json, equations.csv/json, "
                                             "summary.md and students/<student>.md")
    add_arguments(gr)
    gr.set_defaults(func=run)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m lmverify.grade", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    from lmverify.grade import main as _main  # the importable module: its _child is what the forkserver unpickles

    sys.exit(_main())
