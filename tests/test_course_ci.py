"""The course-CI workflow (docs/course-ci/lmverify.yml) as a course's maintainer adopts it: its steps run here
against a copy of the course laid out as its repository (pages in docs/01_foundations/), the annotations on
stderr in GitHub's format, the gate's exit, JUnit that honours the baseline, the course folder found from
mkdocs.yml or under the folder given, and every output failure a named error with its own exit code."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from lmverify.cli import EXIT_COURSE, EXIT_ERRATA, EXIT_OK, EXIT_USAGE, main
from lmverify.exitcodes import EXIT_OUTPUT

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / "docs" / "course-ci" / "lmverify.yml"
MINI = Path(__file__).parent / "data" / "minicourse"
SIX = ("attention_math.md", "information_theory.md", "language_modeling_basics.md", "neural_language_models.md",
       "sequence_to_sequence.md", "word_embeddings.md")

#: the harmless edits an author makes, each must keep the workflow green: (name, page, old, new)
HARMLESS = [
    ("fix an erratum", "word_embeddings.md", r"\log(0.731) \approx -0.314\)", r"\log(0.731) \approx -0.313\)"),
    ("insert 20 lines at the top", "attention_math.md", None, "".join(f"Line {i} of a new preface.\n\n"
                                                                      for i in range(10))),
    ("rename a heading", "attention_math.md", r"### 2. Compute \(S = Q K^\top\) (every cell)",
     r"### 2. The score matrix \(S = Q K^\top\), cell by cell"),
]

ANNOTATION = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<data>.*)$")


def _steps() -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]["verify"]["steps"]


def _report_argv() -> list[str]:
    """The report step's command line (before its redirection), as a list."""
    step = next(s for s in _steps() if s.get("name") == "report")
    argv = shlex.split(step["run"].split(">", 1)[0])
    assert argv[:2] == ["lmverify", "report"]
    return argv[2:]


def _repo(tmp_path: Path, course: Path) -> Path:
    """A course repository as the course keeps it: mkdocs.yml, docs/index.md, the six pages in
    docs/01_foundations/ (copied from --course for this test only)."""
    repo = tmp_path / "course-repo"
    pages = repo / "docs" / "01_foundations"
    pages.mkdir(parents=True)
    for name in SIX:
        shutil.copy(course / name, pages / name)
    (repo / "docs" / "index.md").write_text("# Course\n\nSee the foundations.\n", encoding="utf-8")
    (repo / "mkdocs.yml").write_text(
        "site_name: A course\ntheme:\n  name: material\nmarkdown_extensions:\n  - pymdownx.arithmatex:\n"
        "      generic: true\n  - pymdownx.emoji:\n      emoji_index: !!python/name:material.extensions.emoji.twemoji\n",
        encoding="utf-8")
    return repo


def _edit(repo: Path, page: str, old: str | None, new: str) -> None:
    path = repo / "docs" / "01_foundations" / page
    text = path.read_text(encoding="utf-8")
    if old is None:
        path.write_text(new + text, encoding="utf-8")
    else:
        assert text.count(old) == 1, (page, old)
        path.write_text(text.replace(old, new), encoding="utf-8")


def _annotations(err: str) -> list[tuple[str, dict, str]]:
    out = []
    for line in err.splitlines():
        m = ANNOTATION.match(line)
        if m:
            props = dict(p.split("=", 1) for p in m.group("props").split(",") if p)
            out.append((m.group(1), props, m.group("data")))
    return out


def _unescape(value: str) -> str:
    return value.replace("%2C", ",").replace("%3A", ":").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")


def _junit_counts(path: Path) -> tuple[int, int]:
    suite = ET.parse(path).getroot()
    failed = sum(1 for c in suite.findall("testcase") if c.find("failure") is not None)
    accepted = sum(1 for c in suite.findall("testcase") if c.find("skipped") is not None
                   and c.find("skipped").get("message", "").startswith("accepted in baseline"))
    assert int(suite.get("failures")) == failed
    return failed, accepted


# ---------------------------------------------------------------- GitHub's format


def test_github_escapes_data_and_properties_as_the_runner_unescapes_them():
    from lmverify.course.render import _annotation, github_escape_data, github_escape_property

    assert github_escape_data("100% a\r\nb: c, d") == "100%25 a%0D%0Ab: c, d"
    assert github_escape_property("error: K_T[2, 3]") == "error%3A K_T[2%2C 3]"
    line = _annotation("error", "docs/a,b.md", 7, "error: K_T[2, 3]", "claimed 0,\ncorrect 1 (50%)")
    m = ANNOTATION.match(line)
    props = dict(p.split("=", 1) for p in m.group("props").split(","))
    assert props == {"file": "docs/a%2Cb.md", "line": "7", "title": "error%3A K_T[2%2C 3]"}
    assert _unescape(props["title"]) == "error: K_T[2, 3]" and _unescape(m.group("data")) == "claimed 0,\ncorrect 1 (50%)"


def test_more_annotations_than_github_shows_end_in_a_summary_of_how_many_are_hidden():
    from lmverify.course.findings import Erratum
    from lmverify.course.render import github_annotations
    from lmverify.course.verify import Reports

    class Fake(Reports):
        pass

    reports = Fake(course=Path("docs"))
    import lmverify.course.render as render

    found = [Erratum("p.md", i + 1, "", "ex", f"c{i}", "1", "2", "error", "why") for i in range(14)]
    old = render.classify
    try:
        render.classify = lambda reps, kinds, base: (found[:12], [], found[12:])
        lines = github_annotations(reports).splitlines()
    finally:
        render.classify = old
    errors = [a for a in _annotations("\n".join(lines)) if a[0] == "error"]
    assert len(errors) == 10 and all(a[1].get("file") == "docs/p.md" for a in errors[:9])
    assert "3 more errors" in _unescape(errors[9][1]["title"]) and "3 more new findings" in _unescape(errors[9][2])
    assert [a[0] for a in _annotations("\n".join(lines))][-2:] == ["notice", "notice"]  # accepted ones after


# ---------------------------------------------------------------- the course folder


def test_course_folder_is_found_from_mkdocs_docs_dir_or_under_the_folder_given(tmp_path):
    from lmverify.course.course import find_course
    from lmverify.pages import CourseError

    known = frozenset({"a.md", "b.md"})
    repo = tmp_path / "repo"
    (repo / "content" / "01_part").mkdir(parents=True)
    (repo / "content" / "index.md").write_text("# i\n")
    (repo / "content" / "01_part" / "a.md").write_text("# a\n")
    (repo / "mkdocs.yml").write_text("site_name: x\ndocs_dir: content\nx: !!python/name:mod.func\n"
                                     "y: !ENV [HOME, default]\n")
    assert find_course(repo, known)[0] == repo / "content" / "01_part"
    assert find_course(repo / "mkdocs.yml", known)[0] == repo / "content" / "01_part"
    assert find_course(repo / "content", known)[0] == repo / "content" / "01_part"
    folder, how = find_course(repo / "content" / "01_part", known)
    assert folder == repo / "content" / "01_part" and how == ""
    (repo / "content" / "02_other").mkdir()
    (repo / "content" / "02_other" / "notes.md").write_text("# n\n")
    (repo / "mkdocs.yml").unlink()  # a folder above the pages, no config: searched from where it is
    with pytest.raises(CourseError, match=r"no course pages found.*content/01_part.*content/02_other.*zz\.md"):
        find_course(repo, frozenset({"zz.md"}))  # a hint naming the folders with pages
    assert find_course(repo / "content", frozenset({"zz.md"}))[0] == repo / "content"  # pages, none known: as given
    (repo / "content" / "03_copy").mkdir()
    (repo / "content" / "03_copy" / "a.md").write_text("# a\n")
    with pytest.raises(CourseError, match="more than one folder"):
        find_course(repo / "content", known)
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    with pytest.raises(CourseError, match="holds no course pages"):
        find_course(empty, known)


def test_course_docs_finds_the_pages_in_a_subfolder_and_a_missing_one_is_a_course_error(tmp_path, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(MINI / "pages", repo / "docs" / "01_foundations")
    args = ["report", "--examples-dir", str(MINI / "examples"), "--equations", str(MINI / "equations.yaml"), "--no-code"]
    os.chdir(repo)
    try:
        main([*args, "--course", "docs"])
        out, err = capsys.readouterr()
        assert "course pages in docs/01_foundations (found under --course docs)" in err
        assert "Course pages: docs/01_foundations" in out
        (repo / "other").mkdir()
        (repo / "other" / "readme.md").write_text("# r\n")
        shutil.rmtree(repo / "docs")
        (repo / "docs").mkdir()
        assert main([*args, "--course", "docs"]) == EXIT_COURSE
        assert "holds no course pages" in capsys.readouterr().err
        assert main([*args, "--course", "."]) == EXIT_COURSE
        assert "folders with Markdown pages under it: other" in capsys.readouterr().err
    finally:
        os.chdir(ROOT)


# ---------------------------------------------------------------- named errors, exit codes


def test_missing_baseline_is_a_named_usage_error_before_any_work(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--baseline", str(tmp_path / "nope.json"), "--fail-on", "any"])
    assert exc.value.code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"baseline '{tmp_path / 'nope.json'}' not found; write one with --write-baseline" in err
    assert "Traceback" not in err and "FileNotFoundError" not in err


def _mini(*extra: str) -> list[str]:
    return ["report", "--course", str(MINI / "pages"), "--examples-dir", str(MINI / "examples"),
            "--equations", str(MINI / "equations.yaml"), "--no-code", *extra]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to simulate a full disk")
def test_output_failures_are_named_with_their_own_exit_code_never_the_findings_one(tmp_path, capsys, monkeypatch):
    assert EXIT_OUTPUT not in (EXIT_OK, EXIT_ERRATA, EXIT_USAGE, EXIT_COURSE, 4, 5)
    assert main(_mini("--junit", "/dev/full")) == EXIT_OUTPUT
    assert "--junit '/dev/full': cannot write (No space left on device)" in capsys.readouterr().err
    assert main(_mini("--write-baseline", "/dev/full")) == EXIT_OUTPUT
    assert "--write-baseline '/dev/full': cannot write (No space left on device)" in capsys.readouterr().err
    assert main(_mini("--write-baseline", str(tmp_path / "no" / "such" / "b.json"))) == EXIT_OUTPUT
    assert "does not exist" in capsys.readouterr().err
    locked = tmp_path / "ro"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if not os.access(locked, os.W_OK):  # (root writes anywhere)
            assert main(_mini("--write-baseline", str(locked / "b.json"))) == EXIT_OUTPUT
            assert "Permission denied" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)
    capsys.readouterr()
    with open("/dev/full", "w", encoding="utf-8") as full:
        monkeypatch.setattr(sys, "stdout", full)
        rc = main(_mini())
        monkeypatch.undo()
    assert rc == EXIT_OUTPUT
    assert "stdout: cannot write the report (No space left on device)" in capsys.readouterr().err
    assert main(["starter", "softmax", "-o", "/dev/full"]) == EXIT_OUTPUT


@pytest.mark.slow
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to simulate a full disk")
def test_stdout_on_a_full_disk_exits_6_without_a_traceback_in_a_real_process():
    """The in-process test above covers the error; this one the interpreter's own flush at exit."""
    with open("/dev/full", "w") as full:
        r = subprocess.run([sys.executable, "-m", "lmverify", *_mini()], stdout=full, stderr=subprocess.PIPE,
                           text=True, cwd=ROOT, timeout=120)
    assert r.returncode == EXIT_OUTPUT, r.stderr[-2000:]
    assert "stdout: cannot write the report" in r.stderr and "Traceback" not in r.stderr
    assert "Exception ignored" not in r.stderr


# ---------------------------------------------------------------- the workflow file


def test_workflow_pins_the_tool_installs_cpu_torch_and_has_no_pytest_step():
    text = WORKFLOW.read_text(encoding="utf-8")
    steps = _steps()
    tool = next(s for s in steps if s.get("with", {}).get("path") == "lm-math-verify")
    assert re.fullmatch(r"[0-9a-f]{40}", tool["with"]["ref"]), "the tool must be pinned to a commit SHA"
    assert "/" in tool["with"]["repository"] and "OWNER" not in tool["with"]["repository"]
    assert tool["with"]["repository"] in text.split("name: lmverify")[0]  # the placeholder explained in the header
    runs = [s.get("run", "") for s in steps]
    torch_step = next(i for i, r in enumerate(runs) if "torch==" in r)
    project = next(i for i, r in enumerate(runs) if "./lm-math-verify" in r)
    assert "--index-url https://download.pytorch.org/whl/cpu" in runs[torch_step] and torch_step < project
    pinned = re.search(r'"torch==([^"]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    assert f"torch=={pinned}" in runs[torch_step]
    assert not any("pytest" in r for r in runs) and "No pytest step" in text


def _run_report(argv: list[str], capsys) -> tuple[int, str, str]:
    rc = main(["report", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_workflow_report_step_on_the_course_laid_out_as_its_repository(tmp_path, course_dir, capsys):
    """The report step as the workflow writes it (code blocks left out here: the slow test runs them), in a
    copy of the course repository: green against its baseline, the accepted findings annotated as notices
    on stderr and skipped in JUnit; stdout is the report alone; each harmless edit keeps it green; a new
    wrong number fails it with one error annotation (first) and one JUnit failure."""
    repo = _repo(tmp_path, course_dir)
    argv = _report_argv() + ["--no-code"]
    os.chdir(repo)
    try:
        rc, _, err = _run_report(["--course", "docs", "--write-baseline", "lmverify-baseline.json", "--no-code"], capsys)
        assert rc == EXIT_OK and "course pages in docs/01_foundations" in err
        rc, out, err = _run_report(argv, capsys)
        assert rc == EXIT_OK, err[-3000:]
        assert "::" not in "".join(line[:2] for line in out.splitlines())  # no workflow command in the report
        notes = _annotations(err)
        assert notes and all(level == "notice" for level, _, _ in notes)
        assert all(p.get("file", "").startswith("docs/01_foundations/") for _, p, _ in notes if "file" in p)
        failed, accepted = _junit_counts(repo / "lmverify-report.xml")
        from lmverify import report

        n_findings = len(report.findings(report.build(Path("docs/01_foundations"))))
        assert failed == 0 and accepted == n_findings > 10
        assert any("more notices" in _unescape(p.get("title", "")) for _, p, _ in notes)  # GitHub shows 10
        for name, page, old, new in HARMLESS:
            _edit(repo, page, old, new)
            rc, out, err = _run_report(argv, capsys)
            assert rc == EXIT_OK, (name, err[-3000:])
            assert not [a for a in _annotations(err) if a[0] != "notice"], name
            assert _junit_counts(repo / "lmverify-report.xml")[0] == 0, name
        assert "fixed since the baseline: word_embeddings.md" in err  # the fixed erratum, said
        _edit(repo, "attention_math.md", r"w_{0,1} \approx 0.366", r"w_{0,1} \approx 0.466")
        rc, out, err = _run_report(argv, capsys)
        assert rc == EXIT_ERRATA
        notes = _annotations(err)
        assert notes[0][0] == "error" and [a[0] for a in notes].count("error") == 1
        assert notes[0][1]["file"] == "docs/01_foundations/attention_math.md"
        assert "claimed 0.466, correct 0.366" in _unescape(notes[0][2])
        assert _junit_counts(repo / "lmverify-report.xml")[0] == 1
    finally:
        os.chdir(ROOT)


@pytest.fixture
def slow_asked(request):
    """The verbatim workflow runs the pages' code blocks (minutes under load): only with ``-m slow``; the
    default run checks the same steps in-process without the code blocks (the test above)."""
    expr = request.config.getoption("-m") or ""
    if "slow" not in expr or "not slow" in expr:
        pytest.skip("runs the pages' code blocks (minutes): with -m slow")


@pytest.mark.slow
@pytest.mark.usefixtures("slow_asked")
def test_workflow_steps_run_verbatim_with_code_blocks_and_stay_green_on_harmless_edits(tmp_path, course_dir):
    """Every `run:` step of the workflow but the installs, run by bash exactly as written (code blocks
    included), in the course repository's layout: green with the baseline, annotations on stderr, the
    summary step fed, and green again after the harmless edits (all at once here; one by one above)."""
    repo = _repo(tmp_path, course_dir)
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    runs = [s for s in _steps() if "run" in s and not s.get("name", "").startswith("install")]
    assert [s["name"] for s in runs] == ["report", "summary"]

    def workflow() -> tuple[int, str]:
        rc, err = 0, ""
        for step in runs:
            if rc != 0 and step.get("if") != "always()":
                continue
            r = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, stderr=subprocess.PIPE,
                               text=True, timeout=900)
            err += r.stderr
            rc = rc or r.returncode
        return rc, err

    r = subprocess.run(["lmverify", "report", "--course", "docs", "--write-baseline", "lmverify-baseline.json"],
                       cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=900)
    assert r.returncode == EXIT_OK, r.stderr[-3000:]
    rc, err = workflow()
    assert rc == EXIT_OK, err[-3000:]
    assert _annotations(err) and all(a[0] == "notice" for a in _annotations(err))
    assert "# Verification report" in (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert _junit_counts(repo / "lmverify-report.xml")[0] == 0
    for name, page, old, new in HARMLESS:
        _edit(repo, page, old, new)
    rc, err = workflow()
    assert rc == EXIT_OK, err[-3000:]
    assert _junit_counts(repo / "lmverify-report.xml")[0] == 0
    assert "fixed since the baseline: word_embeddings.md" in err
