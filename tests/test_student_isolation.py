"""A student's functions run in a process of their own (lmverify/students/isolation.py): no student code can
forge a verdict (patch the comparison, NumPy or the references, read the expected value from the frames) or
lose one (exit, crash, hang, allocate without end), nor touch the project's files or leave a process behind.

The default tests drive the student's process directly (milliseconds to a second each); the ones marked slow
run pytest (and ``lmverify grade``) on the hostile modules of tests/data/students_hostile/, each against the
honest wrong module they all compute, on a small ``-k`` selection.
"""

from __future__ import annotations

import math
import os
import pickle
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch

from lmverify.students import ImplError, ImplFailure, SkipImpl, StudentModule, Students, isolation, wire

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "data" / "students_hostile"
SELECTION = ("tests/test_attention.py", "tests/test_equations.py", "-k",
             "softmax_rows or softmax_shift or (softmax_temperature and (matches_oracle or pinned))")

MODULE = '''
import os, sys, gc, signal, socket, subprocess, ctypes
import numpy as np

def ok(z):
    return np.asarray(z) * 2

def exits(z):
    os._exit(0)

def segfaults(z):
    return ctypes.string_at(0)

def loops(z):
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    while True:
        pass

def _inner(z):
    raise ValueError("z must be a matrix, got " + str(np.ndim(z)))

def raises(z):
    return _inner(z)

def later(z):
    raise NotImplementedError("next week")

def quits(z):
    sys.exit(2)

def custom(z):
    class ShapeError(IndexError):
        pass
    raise ShapeError("my own type")

def spy(z):
    """Everything this process can find of the caller: frames above, and any array holding the secret."""
    found = []
    f = sys._getframe()
    while f is not None:
        found.append(f.f_code.co_name)
        f = f.f_back
    secret = [o for o in gc.get_objects() if isinstance(o, np.ndarray) and o.size == 7 and o[0] == 271828.0]
    return (tuple(found), len(secret))

def patch(z):
    import lmverify.check, lmverify.compare
    lmverify.check.assert_close = lambda *a, **k: None
    lmverify.compare.assert_close = lambda *a, **k: None
    np.allclose = lambda *a, **k: True
    return 0.0

def where(z):
    return os.getcwd()

def write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
    except OSError as exc:
        return type(exc).__name__ + ": " + str(exc)
    return "written"

def connect(z):
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=1).close()
    except OSError as exc:
        return "refused: " + type(exc).__name__
    return "connected"

def grandchild(mark):
    subprocess.Popen(["sleep", mark], start_new_session=True, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return 1.0

def returns_object(z):
    return object()

def shifts_in_place(z, tau=1.0):
    z -= z.max(axis=-1, keepdims=True)
    return z


def shifts_a_listed_row(rows):
    rows[1][0] = 0.0
    return rows[0]


def prints(z):
    print("hello from the student")
    return 1.0
'''


@pytest.fixture
def student(tmp_path):
    path = tmp_path / "my_module.py"
    path.write_text(MODULE)
    module = StudentModule(str(path), call_seconds=1.0, memory_mib=512)
    yield module
    module.close()


def _alive_with(mark: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if mark.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


# ---------------------------------------------------------------- what crosses between the processes

def test_values_cross_as_plain_data_and_come_back_equal():
    values = (np.arange(6.0).reshape(2, 3), np.array(2.5), np.float32(1.5), np.array([True, False]),
              np.arange(3, dtype=np.int64), np.asfortranarray(np.ones((2, 3))), torch.arange(4.0),
              torch.ones(2, dtype=torch.bfloat16), 3, 2.5, None, "w", ("__nd__", "not a tag"),
              {"a": [1, 2]}, Counter({"x": 2}), defaultdict(int, {("a", "b"): 1}), {1, 2}, complex(1, 2))
    back = wire.decode(wire.loads_untrusted(wire.dumps_plain(wire.encode(values))))
    assert len(back) == len(values)
    for a, b in zip(values, back):
        assert type(a) is type(b), (a, b)
        if isinstance(a, np.ndarray):
            assert a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b)
        elif isinstance(a, torch.Tensor):
            assert a.dtype == b.dtype and torch.equal(a, b)
        else:
            assert a == b
    assert back[15]["missing"] == 0  # a defaultdict keeps its default


@pytest.mark.bad_input
def test_what_the_student_process_sends_is_read_without_classes():
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo forged",))

    with pytest.raises(wire.WireError, match="posix.system|os.system"):
        wire.loads_untrusted(pickle.dumps(Evil()))
    with pytest.raises(wire.WireError, match="only plain data"):
        wire.loads_untrusted(pickle.dumps(np.zeros(2)))
    with pytest.raises(wire.WireError, match="dtype object"):
        wire.decode(("__nd__", "|O", (1,), b"\0" * 8))
    with pytest.raises(wire.WireError, match="with 3 bytes"):
        wire.decode(("__nd__", "<f8", (2,), b"abc"))
    with pytest.raises(wire.Unencodable, match="builtins.object"):
        wire.encode(object())


def test_limits_are_checked_by_name():
    for bad in (-1.0, 0.0, math.nan, math.inf):
        with pytest.raises(ImplError, match=r"--impl-timeout .*positive, finite"):
            Students.parse(["x.py"], call_seconds=bad)
    with pytest.raises(ImplError, match="--impl-memory"):
        StudentModule("x.py", memory_mib=-5)


# ---------------------------------------------------------------- the student's process, driven directly

@pytest.mark.bad_input
def test_exit_signal_and_hang_are_named_failures_and_the_process_restarts(student):
    proc = student.process
    assert np.array_equal(proc.call("ok", (np.ones(2),), {}), [2.0, 2.0])
    with pytest.raises(ImplFailure, match=r"my_module.py: exits: your exits ended the student's process with exit "
                                          r"status 0 \(os._exit\(0\)"):
        proc.call("exits", (1,), {})
    with pytest.raises(ImplFailure, match="ended the student's process with exit status 0"):
        proc.call("exits", (1,), {})  # not called again: the same failure (hypothesis replays see no flake)
    assert np.array_equal(proc.call("ok", (np.ones(1),), {}), [2.0])  # a new process for the other functions
    with pytest.raises(ImplFailure, match="with signal SIGSEGV during the call"):
        proc.call("segfaults", (1,), {})
    with pytest.raises(ImplFailure, match=r"loops ran past the time limit of 1 s per call"):
        proc.call("loops", (1,), {})
    assert proc.call("ok", (3.0,), {}) == 6.0
    assert proc.restarts == 3


@pytest.mark.bad_input
def test_exceptions_come_back_with_their_type_and_the_students_line(student):
    proc = student.process
    with pytest.raises(ValueError, match="z must be a matrix, got 1") as err:
        proc.call("raises", (np.ones(2),), {})
    tb = err.value.student_traceback
    assert "my_module.py\", line" in tb and "in _inner" in tb and 'raise ValueError("z must be a matrix' in tb
    with pytest.raises(IndexError, match="my own type") as err:
        proc.call("custom", (1,), {})
    assert type(err.value).__name__ == "ShapeError"
    with pytest.raises(SkipImpl, match=r"later raises NotImplementedError \(next week\); implement it"):
        proc.call("later", (1,), {})
    with pytest.raises(ImplFailure, match=r"quits called sys.exit\(2\) instead of returning"):
        proc.call("quits", (1,), {})
    from lmverify.backends import WrongReturn

    with pytest.raises(WrongReturn, match="returns_object returned object"):
        proc.call("returns_object", (1,), {})


def test_the_student_sees_neither_the_callers_frames_nor_its_objects_and_patches_only_its_own_copy(student, capsys):
    import lmverify.check
    import lmverify.compare

    secret = np.full(7, 271828.0)  # an "expected value" alive in this process, and in this frame
    frames, copies = student.process.call("spy", (secret.shape,), {})
    assert "test_the_student_sees_neither_the_callers_frames_nor_its_objects_and_patches_only_its_own_copy" \
        not in frames and copies == 0
    before = (lmverify.check.assert_close, lmverify.compare.assert_close, np.allclose)
    student.process.call("patch", (0,), {})
    assert (lmverify.check.assert_close, lmverify.compare.assert_close, np.allclose) == before
    assert student.process.call("prints", (0,), {}) == 1.0
    assert "hello from the student" in capsys.readouterr().out  # its printing reaches the test's output


@pytest.mark.bad_input
def test_private_folder_no_network_and_no_process_left_behind(student):
    proc = student.process
    cwd = proc.call("where", (0,), {})
    assert Path(cwd) != ROOT and Path(cwd) != Path.cwd() and "lmverify-student-" in cwd
    canary = ROOT / f".lmverify-canary-{uuid.uuid4().hex}"
    try:
        result = proc.call("write", (str(canary),), {})
        if "read-only files" in proc.containment:
            assert result.startswith("OSError: [Errno 30] Read-only file system"), result
            assert not canary.exists()
    finally:
        canary.unlink(missing_ok=True)
    assert proc.call("connect", (0,), {}).startswith("refused")
    mark = f"{uuid.uuid4().int % 10**6}.{os.getpid()}"
    proc.call("grandchild", (mark,), {})
    for _ in range(40):
        if _alive_with(mark):
            break
        time.sleep(0.05)
    assert _alive_with(mark), "the grandchild did not start"
    student.close()
    assert not _alive_with(mark), f"a process started by the student's code outlived it ({proc.containment})"
    assert not Path(cwd).exists(), "the student's private folder was left behind"


def test_students_processes_are_bounded_and_all_closed_at_shutdown():
    import gc

    modules = [StudentModule(str(HOSTILE / "honest_wrong.py")) for _ in range(isolation.MAX_LIVE + 2)]
    folders = []
    for m in modules:
        m.process.ready()
        folders.append(m.process.handle.folder)
    alive = [m for m in modules if m.process.handle is not None]
    assert len(alive) == isolation.MAX_LIVE  # the least recently used were closed as others started
    del modules, alive
    gc.collect()  # a module dropped without close() is still closed by shutdown (held by the registry)
    isolation.shutdown()
    assert not [f for f in folders if Path(f).exists()]


def test_containment_names_what_applies(student):
    student.process.ready()
    assert student.process.containment
    assert isolation.containment() in (student.process.containment, "not started")


# ---------------------------------------------------------------- pytest --impl and grade on hostile modules

def _run_pytest(*args: str, env: dict[str, str] | None = None):
    from lmverify.grade import run_pytest

    return run_pytest(*args, env=env)


def _summary(out: str) -> str:
    return out.strip().splitlines()[-1] if out.strip() else ""


def test_unknown_hypothesis_profile_is_a_usage_error_naming_the_profiles():
    from lmverify.pytest_plugin import _check_hypothesis_profile

    class Config:
        def __init__(self, profile):
            self.profile = profile

        def getoption(self, name, default=None):
            return self.profile

    _check_hypothesis_profile(Config("thorough"))
    _check_hypothesis_profile(Config(None))
    with pytest.raises(pytest.UsageError, match=r"--hypothesis-profile 'thorogh': no such profile; expected one of "
                                                r".*\bci\b.*thorough"):
        _check_hypothesis_profile(Config("thorogh"))


@pytest.mark.slow
def test_bad_impl_timeout_and_unknown_hypothesis_profile_are_usage_errors():
    r = _run_pytest("--impl-timeout=-1", "--impl=x.py", "--co")
    assert r.returncode == 4 and "--impl-timeout -1.0: expected a positive, finite number" in r.stdout + r.stderr
    r = _run_pytest("--hypothesis-profile=thorogh", "--co", "tests/test_attention.py")
    out = r.stdout + r.stderr
    assert r.returncode == 4 and "INTERNALERROR" not in out, out[-2000:]
    assert "--hypothesis-profile 'thorogh': no such profile; expected one of" in out and "thorough" in out


_HONEST: list = []


def _honest_run():
    """The honest wrong module's run of the selection (once per test process)."""
    if not _HONEST:
        _HONEST.append(_run_pytest(*SELECTION, f"--impl={HOSTILE / 'honest_wrong.py'}"))
    return _HONEST[0]


@pytest.mark.slow
@pytest.mark.bad_input
@pytest.mark.parametrize("module, named", [
    ("exit0_in_function", "ended the student's process with exit status 0"),
    ("exit3_at_import", "importing the module ended the student's process with exit status 3"),
    ("patches_assert_close", ""),
    ("patches_numpy", ""),
    ("patches_reference", ""),
    ("reads_frames", ""),
    ("segfaults", "ended the student's process with signal SIGSEGV"),
    ("blocks_alarm_and_sleeps", "ran past the time limit of 1 s per call"),
    ("huge_allocation", ""),
])
def test_a_hostile_module_passes_nothing_that_the_honest_wrong_module_fails(module, named):
    honest = _honest_run()
    assert honest.returncode == 1 and " passed" not in _summary(honest.stdout), honest.stdout[-2000:]
    # the hoarder meets a lower limit, below its first block (at 512 MiB each call wrote 256 MiB before it was
    # refused); the others keep room for the trick they try
    memory = 64 if module == "huge_allocation" else 512
    r = _run_pytest(*SELECTION, f"--impl={HOSTILE / module}.py", "--impl-timeout=1", f"--impl-memory={memory}")
    assert r.returncode == 1, r.stdout[-3000:]
    assert " passed" not in _summary(r.stdout), r.stdout[-3000:]
    assert named in r.stdout, r.stdout[-3000:]
    if named:  # a process that ended (or outran its limit) is one failure, whichever input replays it
        assert "distinct failures" not in r.stdout, r.stdout[-3000:]
    if module == "huge_allocation":
        assert "MemoryError" in r.stdout or "ran past the time limit" in r.stdout or "SIGKILL" in r.stdout


@pytest.mark.slow
@pytest.mark.bad_input
def test_file_deletion_and_grandchildren_do_not_reach_the_project_or_outlive_the_run():
    from lmverify.students.wire import encode  # noqa: F401 - imported by the run below as well

    canary = ROOT / f".lmverify-canary-{uuid.uuid4().hex}"
    canary.write_text("the project's file")
    try:
        for module in ("deletes_in_cwd", "spawns_grandchild"):
            r = _run_pytest(*SELECTION, f"--impl={HOSTILE / module}.py", env={"LMVERIFY_CANARY": str(canary)})
            assert r.returncode == 1 and " passed" not in _summary(r.stdout), r.stdout[-3000:]
        probe = StudentModule(str(HOSTILE / "honest_wrong.py"))
        probe.process.ready()
        if "read-only files" in probe.process.containment:
            assert canary.exists(), "the student's code deleted a project file by its absolute path"
        probe.close()
    finally:
        canary.unlink(missing_ok=True)
    assert not _alive_with("3141.5926"), "a process started by the student's code outlived the run"


@pytest.mark.slow
@pytest.mark.bad_input
def test_grade_gives_no_hostile_module_a_pass_and_names_the_exits(tmp_path):
    from lmverify.grade import grade

    cls = tmp_path / "class"
    cls.mkdir()
    names = ["honest_wrong", "exit0_in_function", "exit3_at_import", "patches_assert_close", "patches_numpy",
             "patches_reference", "reads_frames", "deletes_in_cwd", "spawns_grandchild"]
    for name in names:
        (cls / f"{name}.py").write_text((HOSTILE / f"{name}.py").read_text())
    (cls / "correct.py").write_text("from reference.numpy.attention import softmax  # noqa: F401\n")
    canary = ROOT / f".lmverify-canary-{uuid.uuid4().hex}"
    canary.write_text("the project's file")
    os.environ["LMVERIFY_CANARY"] = str(canary)
    try:
        runs = grade(cls, "attention", jobs=2, timeout=300, output=tmp_path / "out", call_timeout=2,
                     keyword="softmax_rows or softmax_shift or matches_oracle or pinned_inputs")
        assert canary.exists()
    finally:
        os.environ.pop("LMVERIFY_CANARY", None)
        canary.unlink(missing_ok=True)
    by = {r.student: r for r in runs}
    assert by["correct"].count("passed") >= 2 and by["correct"].count("failed") == 0, by["correct"]
    for name in names:
        assert by[name].status == "ran", (name, by[name].detail)
        assert by[name].count("passed") == 0 and by[name].count("failed") >= 1, (name, by[name].tests)
    messages = {n: " ".join(t["message"] for t in by[n].tests) for n in names}
    assert "ended the student's process with exit status 0" in messages["exit0_in_function"]
    assert "ended the student's process with exit status 3" in messages["exit3_at_import"]
    assert not _alive_with("3141.5926")


def test_a_failure_from_the_students_exception_shows_its_file_line_and_source(tmp_path):
    from lmverify.backends import Backend
    from lmverify.check import Check
    from lmverify.compare import VerificationError

    path = tmp_path / "my_softmax.py"
    path.write_text("import numpy as np\n\n\ndef softmax(z, tau=1.0):\n"
                    "    if np.ndim(z) > 1:\n        raise ValueError('I only wrote it for vectors')\n"
                    "    return np.exp(z) / np.exp(z).sum()\n")
    student = StudentModule(str(path))
    try:
        with pytest.raises(VerificationError) as err:
            Check("attention.softmax_temperature", Backend("impl", student=student)).call(z=np.zeros((2, 2)))
    finally:
        student.close()
    text = str(err.value)
    assert "your softmax raised ValueError: I only wrote it for vectors" in text
    assert f'File "{path}", line 6, in softmax' in text and "raise ValueError('I only wrote it for vectors')" in text


def test_torch_runs_in_the_student_process_without_hanging(tmp_path):
    """torch was imported (and may have used its thread pool) before the fork: the student's process sets one
    thread and answers; tensors go and come back as tensors of their dtype."""
    path = tmp_path / "my_torch.py"
    path.write_text("import torch\n\n\ndef softmax(z, tau=1.0):\n"
                    "    big = torch.randn(256, 256, dtype=torch.float64)\n"
                    "    (big @ big).sum()\n"
                    "    return torch.softmax(z / tau, dim=-1), torch.get_num_threads()\n")
    torch.ones(512, 512) @ torch.ones(512, 512)  # this process's thread pool in use before the student's starts
    student = StudentModule(str(path), array_api="torch", call_seconds=20)
    try:
        z = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float32)
        got, threads = student.process.call("softmax", (z,), {"tau": 2.0})
    finally:
        student.close()
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float32 and threads == 1
    assert torch.allclose(got, torch.softmax(z / 2.0, dim=-1))


def test_a_test_that_never_uses_the_student_fixture_is_deselected_under_impl():
    from lmverify.pytest_plugin import _uses_student

    class Info:
        argnames = ("numeric_backend", "data")

    class Item:
        _fixtureinfo = Info()

        def __init__(self, function):
            self.function = function

    def never(numeric_backend, data):
        return data + 1

    def uses(numeric_backend, data):
        return numeric_backend.call("attention", "softmax", data)

    assert not _uses_student(Item(never)) and _uses_student(Item(uses))

    from hypothesis import given, strategies as st

    @given(data=st.integers())
    def never_under_hypothesis(numeric_backend, data):  # hypothesis' wrapper passes every argument on
        return data + 1

    @given(data=st.integers())
    def uses_in_a_closure(numeric_backend, data):
        return (lambda: numeric_backend)()

    assert not _uses_student(Item(never_under_hypothesis)) and _uses_student(Item(uses_in_a_closure))
    from tests.test_embeddings_pmi_glove import test_glove_loss_gradient_closed_form_equals_autograd as glove

    assert not _uses_student(Item(glove))


@pytest.mark.slow
def test_the_glove_autograd_test_that_never_calls_the_student_is_not_a_pass_under_impl():
    r = _run_pytest("tests/test_embeddings_pmi_glove.py", "-k", "glove_loss_gradient_closed_form",
                    f"--impl={ROOT / 'tests' / 'data' / 'students' / 'empty.py'}")
    assert " passed" not in _summary(r.stdout) and "deselected" in _summary(r.stdout), r.stdout[-2000:]


@pytest.mark.bad_input
def test_an_input_changed_in_place_is_named_even_when_the_result_is_right(student):
    """`z -= z.max()` on the caller's array: the suite's inputs are shared by the checks that follow, so the
    change is a failure naming the argument (the issue: mutated inputs went unnoticed)."""
    proc = student.process
    z = np.array([[1.0, 2.0], [3.0, np.nan]])
    with pytest.raises(ImplFailure, match=r"shifts_in_place changed its input `z` in place"):
        proc.call("shifts_in_place", (z,), {"tau": 1.0})
    assert np.array_equal(z, [[1.0, 2.0], [3.0, np.nan]], equal_nan=True)  # the suite's copy is untouched
    with pytest.raises(ImplFailure, match=r"changed its input `rows\[1\]` in place"):
        proc.call("shifts_a_listed_row", ([np.ones(2), np.ones(2)],), {})
    # a function that only reads its inputs (NaN included) is not flagged
    assert np.array_equal(proc.call("ok", (z,), {}), 2 * z, equal_nan=True)
