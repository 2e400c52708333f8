"""Containment of the code the tool runs (lmverify/sandbox.py), property by property, in the mode this machine
gives (namespaces where ``unshare`` works) and, where it matters, in the fallback mode (LMVERIFY_SANDBOX=fallback).

Cheap: every contained command is a few lines of plain Python or shell (about 0.1-0.3 s each); one CPU-limit
run burns a second of CPU; one notebook with a single cell starts a kernel (a few seconds).
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from lmverify import sandbox
from lmverify.pages import CodeBlock, CourseError, code_blocks, page_installs, run_block, run_course_code
from lmverify.sandbox import SandboxError, isolation, private_folder, run_contained

NAMESPACES = isolation() == "namespaces"
needs_namespaces = pytest.mark.skipif(not NAMESPACES, reason="unshare cannot make user/mount/PID/net namespaces here")


def _py(code: str, **kw) -> sandbox.ContainedRun:
    kw.setdefault("cpu_seconds", 10)
    return run_contained([sys.executable, "-c", textwrap.dedent(code)], **kw)


def _alive(marker: str) -> list[int]:
    """Processes of this machine whose command line holds ``marker``."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if marker.encode() in Path(f"/proc/{d}/cmdline").read_bytes():
                    out.append(int(d))
            except OSError:
                pass
    return out


_DETACHED = """
import os, subprocess, sys
# a grandchild in a session of its own, its parent gone: only the runner can still find it
subprocess.Popen(["setsid", sys.executable, "-c", "import time; time.sleep(300)", "{marker}"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
print("started")
"""


@pytest.fixture(params=["namespaces", "fallback"])
def mode(request, monkeypatch, tmp_path_factory):
    if request.param == "namespaces" and not NAMESPACES:
        pytest.skip("no namespaces here")
    if request.param == "fallback":
        monkeypatch.setenv("LMVERIFY_SANDBOX", "fallback")
        # the fallback's snapshot cannot tell this run's writes from another process's: on a shared machine,
        # watch an empty folder here (test_fallback_reports_a_non_python_write_outside_from_the_snapshot
        # checks the real places)
        quiet = tmp_path_factory.mktemp("watched")
        monkeypatch.setattr(sandbox, "_watch_roots", lambda watch: [(quiet, None, False)])
    return request.param


# ---------------------------------------------------------------- the private folder and writes outside


def test_contained_run_works_in_a_fresh_private_folder_removed_after(mode):
    r = _py("import os, tempfile; print(os.getcwd()); print(tempfile.gettempdir()); open('made.txt', 'w').write('x')")
    assert r.status == "ok" and r.isolation == mode and r.writes_outside == [], r
    cwd, tmp = r.stdout.split()
    assert Path(cwd).name.startswith(sandbox.FOLDER_PREFIX) and tmp.startswith(cwd)
    assert not Path(cwd).exists()  # removed with everything the run made


def test_python_write_outside_is_refused_and_reported(mode, tmp_path):
    target = tmp_path / f"outside-{uuid.uuid4().hex}.txt"
    r = _py(f"open({str(target)!r}, 'w').write('x')")
    assert r.status == "failed" and not target.exists()
    assert r.writes_outside == [f"{target} (open for writing) refused"]
    assert "wrote outside its folder" in r.reason and "PermissionError" in r.stderr


@needs_namespaces
def test_shell_write_outside_is_refused_by_the_read_only_mounts(tmp_path):
    target = tmp_path / f"outside-{uuid.uuid4().hex}.txt"
    r = run_contained(["sh", "-c", f"echo x > {target}; echo x > inside.txt && echo inside-ok"], cpu_seconds=5)
    assert not target.exists() and "Read-only file system" in r.stderr and r.stdout.strip() == "inside-ok"


def test_fallback_reports_a_non_python_write_outside_from_the_snapshot(monkeypatch):
    monkeypatch.setenv("LMVERIFY_SANDBOX", "fallback")
    target = Path("/tmp") / f"lmverify-probe-{uuid.uuid4().hex}.txt"
    try:
        r = run_contained(["sh", "-c", f"echo x > {target}"], cpu_seconds=5)
        assert target.exists()  # nothing stops a shell in the fallback mode: the snapshot sees it
        assert f"{target} (created)" in r.writes_outside and r.status == "failed"
    finally:
        target.unlink(missing_ok=True)


def test_writable_paths_named_by_the_caller_may_be_written(mode, tmp_path):
    target = tmp_path / "allowed.txt"
    r = _py(f"open({str(target)!r}, 'w').write('x')", writable=[tmp_path])
    assert r.status == "ok" and target.read_text() == "x" and r.writes_outside == []


# ---------------------------------------------------------------- descendants


def test_a_detached_grandchild_does_not_outlive_the_run(mode):
    marker = f"lmverify-test-sleeper-{uuid.uuid4().hex}"
    r = _py(_DETACHED.format(marker=marker))
    assert r.stdout.strip() == "started" and r.status == "ok"
    assert r.leftover_processes >= 1
    assert _alive(marker) == []


# ---------------------------------------------------------------- offline


@pytest.mark.parametrize("call, recorded", [
    ("socket.create_connection(('203.0.113.7', 80), timeout=5)", "connect to ('203.0.113.7', 80)"),
    ("print(socket.socket().connect_ex(('203.0.113.7', 80)))", "connect to ('203.0.113.7', 80)"),
    ("import _socket; _socket.socket().connect(('203.0.113.7', 80))", "connect to ('203.0.113.7', 80)"),
    ("socket.getaddrinfo('example.org', 443)", "getaddrinfo of 'example.org'"),
    ("socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('203.0.113.7', 53))",
     "sendto to ('203.0.113.7', 53)"),
], ids=["connect", "connect_ex", "_socket", "getaddrinfo", "sendto"])
def test_network_calls_are_refused_and_recorded(call, recorded):
    r = _py(f"import socket\n{call}\n")
    assert r.status == "failed" and r.network_attempts == [recorded], r
    assert "[lmverify offline]" in r.stderr


def test_network_calls_are_refused_and_recorded_in_either_mode(mode):
    r = _py("import socket\nsocket.socket().connect_ex(('203.0.113.7', 80))\n")
    assert r.status == "failed" and r.network_attempts == ["connect to ('203.0.113.7', 80)"], r


@needs_namespaces
def test_a_python_dash_I_child_is_refused_and_recorded():
    """``python -I`` ignores PYTHONPATH: the guard reaches it through a .pth line, the namespace refuses anyway."""
    child = "import socket; socket.create_connection(('203.0.113.9', 80), timeout=5)"
    r = _py(f"import subprocess, sys; print(subprocess.run([sys.executable, '-I', '-c', {child!r}]).returncode)")
    assert r.stdout.strip() == "1" and r.network_attempts == ["connect to ('203.0.113.9', 80)"]
    raw = _py("import subprocess, sys; subprocess.run([sys.executable, '-I', '-S', '-c', "
              "\"import socket; socket.create_connection(('203.0.113.9', 80), timeout=5)\"], check=True)")
    assert raw.status == "failed" and "Network is unreachable" in raw.stderr  # no route: not even -S gets out


def test_loopback_is_allowed(mode):
    r = _py("""
        import socket
        server = socket.socket(); server.bind(('127.0.0.1', 0)); server.listen()
        client = socket.create_connection(server.getsockname(), timeout=5)
        conn, _ = server.accept(); client.sendall(b'ping'); print(conn.recv(4).decode())
    """)
    assert r.status == "ok" and r.stdout.strip() == "ping" and r.network_attempts == []


def test_offline_false_does_not_record(mode):
    r = _py("import socket\ns = socket.socket()\ns.settimeout(0.2)\ns.connect_ex(('203.0.113.7', 80))\n", offline=False)
    assert r.network_attempts == [] and r.status == "ok"


# ---------------------------------------------------------------- limits


def test_cpu_limit_stops_a_busy_loop_with_status_cpu_limit():
    r = _py("while True:\n    pass\n", cpu_seconds=1)
    assert r.status == "cpu_limit" and r.reason == "stopped at its CPU-time limit of 1 s" and r.cpu_seconds >= 0.9


def test_wall_backstop_stops_a_sleeper_with_status_wall_limit():
    r = _py("import time; time.sleep(60)", cpu_seconds=1, wall_seconds=0.5)
    assert r.status == "wall_limit" and "wall-clock backstop of 0.5 s" in r.reason and r.wall_seconds < 30


def test_memory_limit_is_named_and_numpy_imports_under_it():
    r = _py("x = bytearray(3 * 2**30)", memory_mib=512)
    assert r.status == "memory_limit" and "limit of 512 MiB" in r.reason and "MemoryError" in r.memory_error
    ok = _py("import numpy as np; print(np.ones(10**6).sum())", memory_mib=512)
    assert ok.status == "ok" and ok.stdout.strip() == "1000000.0"


@pytest.mark.slow
def test_torch_imports_and_trains_a_step_under_the_memory_limit():
    """RLIMIT_DATA, not RLIMIT_AS: torch reserves large virtual areas that an address-space limit would refuse."""
    r = _py("import torch; m = torch.nn.Linear(4, 2); m(torch.ones(3, 4)).sum().backward(); print('ok')",
            memory_mib=1024, cpu_seconds=120)
    assert r.status == "ok" and r.stdout.strip() == "ok", r.stderr[-2000:]


# ---------------------------------------------------------------- skipped only for an established reason


def test_a_typo_import_fails_and_a_network_message_without_an_attempt_fails():
    typo = run_block(CodeBlock("p.md", 3, "import nump\n"))
    assert typo.status == "failed" and typo.reason == "ModuleNotFoundError: No module named 'nump'"
    assert typo.error_line == 3
    text = run_block(CodeBlock("p.md", 1, "raise OSError(101, 'Network is unreachable')\n"))
    assert text.status == "failed" and text.reason == "OSError: [Errno 101] Network is unreachable"
    attempt = run_block(CodeBlock("p.md", 1, "import socket\nsocket.create_connection(('203.0.113.7', 80))\n"))
    assert attempt.status == "skipped" and "connect to ('203.0.113.7', 80)" in attempt.reason


def test_the_page_install_line_decides_a_missing_package(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# P\n\nInstall first:\n\n```bash\npip install -U scikit-learn 'surely-absent-pkg>=1.2' gensim\n"
                    "```\n\n"
                    "```python\nimport surely_absent_pkg\n```\n\n```python\nimport surely_absent_pkg2\n```\n")
    assert set(page_installs(page.read_text())) == {"sklearn", "surely_absent_pkg", "gensim"}
    named, unnamed = code_blocks(page)
    r = run_block(named)
    assert r.status == "skipped" and r.reason == ("missing package: surely_absent_pkg (not installed here; the page "
                                                  "installs it: pip install -U scikit-learn 'surely-absent-pkg>=1.2' "
                                                  "gensim)")
    assert run_block(unnamed).status == "failed"


def test_page_install_forms():
    assert set(page_installs("Run `%pip install torch==2.1 numpy` then `python -m pip install Pillow`.")) == \
        {"torch", "numpy", "PIL"}
    assert set(page_installs("uv add beautifulsoup4\nconda install -c conda-forge pyyaml  # comment words")) == \
        {"bs4", "yaml"}
    assert page_installs("We install nothing; `pip` is a tool.") == {}


# ---------------------------------------------------------------- per-block options and bad input


def test_block_cpu_option_is_read_before_the_fence(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("<!-- lmverify: cpu=600 memory=8192 -->\n```python\nprint(1)\n```\n\n```python\nprint(2)\n```\n")
    first, second = code_blocks(page)
    assert (first.cpu_seconds, first.memory_mib) == (600.0, 8192.0) and second.cpu_seconds is None


@pytest.mark.bad_input
@pytest.mark.parametrize("option, message", [
    ("cpu=abc", "p.md:3: lmverify option 'cpu=abc': expected cpu=<CPU seconds>, a finite positive number"),
    ("cpu=-5", "p.md:3: lmverify option 'cpu=-5': expected cpu=<CPU seconds>, a finite positive number"),
    ("cpu=inf", "p.md:3: lmverify option 'cpu=inf': expected cpu=<CPU seconds>, a finite positive number"),
    ("wall=5", "p.md:3: lmverify option 'wall=5': expected cpu=<CPU seconds>, memory=<MiB of memory"),
])
def test_bad_block_option_is_a_named_error(tmp_path, option, message):
    page = tmp_path / "p.md"
    page.write_text(f"# P\n\n<!-- lmverify: {option} -->\n\n```python\nprint(1)\n```\n")
    with pytest.raises(CourseError) as info:
        code_blocks(page)
    assert str(info.value).startswith(message)


@pytest.mark.bad_input
@pytest.mark.parametrize("value", [-5, 0, float("nan"), float("inf"), "abc"])
def test_bad_limits_are_named_errors(value):
    for name in ("cpu_seconds", "memory_mib", "wall_seconds"):
        kw = {"cpu_seconds": 5, name: value}
        with pytest.raises(SandboxError, match=f"^{name} "):
            run_contained(["true"], **kw)


@pytest.mark.bad_input
def test_bad_command_and_folder_are_named_errors(tmp_path):
    with pytest.raises(SandboxError, match="argv: expected a command"):
        run_contained([], cpu_seconds=5)
    with pytest.raises(SandboxError, match="cwd .*: expected an existing folder"):
        run_contained(["true"], cwd=tmp_path / "absent", cpu_seconds=5)
    r = run_contained(["surely-no-such-program-xyz"], cpu_seconds=5)
    assert r.status == "failed" and r.returncode == 127 and "cannot run 'surely-no-such-program-xyz'" in r.stderr


@pytest.mark.bad_input
@pytest.mark.parametrize("value", ["-5", "0", "nan", "inf", "-inf"])
def test_code_timeout_rejects_bad_values_with_a_usage_error(value, capsys):
    from lmverify.cli import main

    with pytest.raises(SystemExit) as info:
        main(["report", f"--code-timeout={value}", "--no-code"])
    assert info.value.code == 2
    assert f"argument --code-timeout: '{value}': expected a finite, positive number of CPU seconds" in \
        capsys.readouterr().err


# ---------------------------------------------------------------- nothing the tool runs escapes


_NOTEBOOK_CELL = """
import subprocess, sys
subprocess.Popen(["setsid", sys.executable, "-c", "import time; time.sleep(300)", "{marker}"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
try:
    open({target!r}, "w").write("x")
except OSError as exc:
    print("refused:", exc)
open("inside.txt", "w").write("fine")
"""


def test_nothing_the_tool_runs_writes_outside_or_outlives_the_run(tmp_path):
    """Page blocks (through the report's run_course_code) and a notebook (through ``lmverify notebooks``'
    execute): each tries to write outside its folder and leaves a detached process behind."""
    import nbformat

    from lmverify import notebooks

    marker = f"lmverify-test-escape-{uuid.uuid4().hex}"
    outside = tmp_path / "outside"
    outside.mkdir()
    course = tmp_path / "course"
    course.mkdir()
    block = _NOTEBOOK_CELL.format(marker=marker, target=str(outside / "from-block.txt"))
    (course / "escape.md").write_text(f"# Escape\n\n```python\n{block}\n```\n\n```python\n"
                                      f"open({str(course / 'escape.md')!r}, 'a').write('changed')\n```\n")
    before = (course / "escape.md").read_text()
    first, second = run_course_code(course)
    assert first.status == "failed" and "wrote outside its folder" in first.reason and first.leftover_processes >= 1
    assert second.status == "failed" and "escape.md (open for writing) refused" in second.reason
    assert (course / "escape.md").read_text() == before

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(_NOTEBOOK_CELL.format(marker=marker, target=str(outside / "from-nb.txt")))]
    nb.metadata["execution"] = {"timeout": 60}
    path = tmp_path / "escape.ipynb"
    nbformat.write(nb, str(path))
    ran, error = notebooks.execute(path)
    assert error is not None and "wrote outside its folder" in error and "from-nb.txt" in error
    printed = "".join(o.get("text", "") for o in ran.cells[0].outputs)
    assert printed.startswith("refused:")
    assert list(outside.iterdir()) == [] and _alive(marker) == []


def test_private_folder_is_removed_even_when_made_read_only():
    with private_folder() as folder:
        sub = folder / "locked"
        sub.mkdir()
        (sub / "f").write_text("x")
        sub.chmod(0o500)
    assert not folder.exists()


def test_contained_run_is_plain_data():
    """Only plain data (a students' runner or a report can ship it as JSON)."""
    r = _py("print('x')")
    assert json.loads(json.dumps(vars(r))) == vars(r) and r.stdout == "x\n"


@needs_namespaces
def test_namespaces_that_fail_to_start_fall_back_instead_of_failing_the_code(monkeypatch, tmp_path):
    """An ``unshare`` that fails now (it worked when probed) must not make the code look failed."""
    monkeypatch.setattr(sandbox, "_unshare_prefix", lambda offline: ["unshare", "--no-such-option-for-the-test"])
    monkeypatch.setattr(sandbox, "_watch_roots", lambda watch: [(tmp_path, None, False)])  # see the mode fixture
    r = _py("print('ran')")
    assert r.status == "ok" and r.stdout == "ran\n" and r.isolation == "fallback"


@needs_namespaces
def test_the_code_cannot_stop_itself_as_a_timeout_by_signalling_the_init():
    r = _py("import os, signal, time; os.kill(1, signal.SIGALRM); time.sleep(0.2); print('alive')")
    assert r.status == "ok" and r.stdout == "alive\n"
