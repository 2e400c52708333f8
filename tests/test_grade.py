"""``lmverify grade`` (lmverify/grade.py): each student contained in a process of its own, and the tables.

The two tests that start processes are marked slow: the forkserver test costs about 6 to 8 s of wall clock
on this 2-core machine (the forkserver's imports once, a fork per student, and 3 s asleep waiting for a
wall-clock limit), the subprocess test 2 to 4 s (a new interpreter). The other tests build
their runs by hand and cost milliseconds.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lmverify.grade import StudentRun, _where, grade, main, merge, run_one, submissions, write

STUDENTS = Path(__file__).parent / "data" / "students"
CORRECT = "from reference.numpy.attention import softmax  # noqa: F401\n"
KEYWORD = "softmax_rows or softmax_shift"  # two of the topic's tests: enough to import and call the student


@pytest.mark.slow
def test_grade_a_small_class_each_student_contained(tmp_path):
    """A correct module, and modules that exit at import (sys.exit, os._exit), loop (in a function, at import),
    print 8 MB (past a 1 MiB cap), fill memory, or block the time-limit signal and sleep: each is graded in its
    own process (its code in a process of its own again, under --impl), recorded as what it did, and the run
    goes on."""
    cls = tmp_path / "class"
    cls.mkdir()
    (cls / "ann.py").write_text(CORRECT)
    (cls / "eve.py").write_text("import os\nos._exit(3)\n")
    (cls / "sam.py").write_text("import sys\nsys.exit(3)\n")
    (cls / "joe.py").write_text((STUDENTS / "infinite_loop.py").read_text())
    (cls / "lou.py").write_text("while True:\n    pass\n")
    (cls / "pat.py").write_text("print('x' * (8 * 1024 * 1024))\n")  # past the 1 MiB cap below
    (cls / "hog.py").write_text("import numpy as np\nhoard = [np.empty(1 << 27) for _ in range(10**4)]\n")
    runs = grade(cls, "attention", jobs=2, timeout=120, output=tmp_path / "out", call_timeout=0.5, keyword=KEYWORD,
                 output_mib=1)
    by = {r.student: r for r in runs}
    messages = {r.student: " ".join(t["message"] for t in r.tests) for r in runs}
    assert by["ann"].status == "ran" and by["ann"].count("passed") == 2 and by["ann"].count("failed") == 0
    # os._exit at import ends the student's own process, not the grader's pytest: every test fails naming it
    assert by["eve"].status == "ran" and by["eve"].count("passed") == 0 and by["eve"].count("failed") == 2
    assert "eve.py': importing the module ended the student's process with exit status 3" in messages["eve"]
    assert by["sam"].count("failed") == 1 and by["sam"].count("skipped") == 1 and "sys.exit(3)" in messages["sam"]
    assert by["joe"].count("failed") == 2 and "ran past the time limit of 0.5 s" in messages["joe"]
    assert by["lou"].count("failed") == 1 and "importing the module took longer than 0.5 s" in messages["lou"]
    assert by["pat"].count("failed") == 1 and "File too large" in messages["pat"]
    assert by["hog"].count("failed") == 1 and "MemoryError" in messages["hog"]
    rows = json.loads((tmp_path / "out" / "results.json").read_text())
    assert any("ran past the time limit of 0.5 s" in r["message"] for r in rows if r["student"] == "joe")
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "| eve | ran | 0 | 2 |" in summary and "ran past the time limit" in summary
    assert sorted(p.stem for p in (tmp_path / "out" / "students").glob("*.md")) == sorted(by)

    # a module that blocks SIGALRM and sleeps at import: the suite's wait for the import is the limit (no signal
    # is needed in the student's process), and the parent's wall clock still stops a pytest process that hangs
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "wal.py").write_text("import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
                                 "time.sleep(10**6)\n")
    [wal] = grade(slow, "attention", jobs=1, timeout=60, output=tmp_path / "out2", call_timeout=0.5, keyword=KEYWORD)
    assert wal.status == "ran" and wal.count("passed") == 0 and wal.count("failed") == 1, wal
    assert "importing the module took longer than 0.5 s" in " ".join(t["message"] for t in wal.tests)
    [wal] = grade(slow, "attention", jobs=1, timeout=0.5, output=tmp_path / "out3", call_timeout=5, keyword=KEYWORD)
    assert wal.status == "timeout" and "longer than 0.5 s" in wal.detail


@pytest.mark.slow
def test_grade_without_the_forkserver_runs_the_same_child_in_a_new_interpreter(tmp_path):
    cls = tmp_path / "class"
    cls.mkdir()
    (cls / "ann.py").write_text(CORRECT)
    [ann] = grade(cls, "attention", jobs=1, timeout=120, output=tmp_path / "out", keyword=KEYWORD,
                  isolation="subprocess")
    assert ann.status == "ran" and ann.count("passed") == 2, ann


def test_grade_submissions_one_file_or_one_folder_per_student(tmp_path):
    (tmp_path / "ann.py").write_text(CORRECT)
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "attention.py").write_text(CORRECT)
    (tmp_path / "bob" / "helpers.py").write_text("")
    (tmp_path / "cid").mkdir()
    (tmp_path / "cid" / "mine.py").write_text(CORRECT)
    (tmp_path / "dan").mkdir()
    (tmp_path / "dan" / "a.py").write_text("")
    (tmp_path / "dan" / "b.py").write_text("")
    (tmp_path / "_notes.py").write_text("")
    subs = dict(submissions(tmp_path, "attention"))
    assert subs == {"ann": [str(tmp_path / "ann.py")], "bob": [f"attention={tmp_path / 'bob' / 'attention.py'}"],
                    "cid": [str(tmp_path / "cid" / "mine.py")], "dan": []}
    dan = run_one("dan", [], "attention", 60, 4096, tmp_path)
    assert dan.status == "no module" and "no .py file" in dan.detail
    with pytest.raises(ValueError, match="'lstm': unknown topic"):
        grade(tmp_path, "lstm", output=tmp_path / "out")
    with pytest.raises(ValueError, match="no such folder"):
        grade(tmp_path / "nowhere", "attention", output=tmp_path / "out")


def _test(nodeid: str, outcome: str, *equations: str, hint: str = "", message: str = "") -> dict:
    return {"nodeid": nodeid, "equations": list(equations), "outcome": outcome, "hint": hint, "message": message}


def test_grade_tables_one_row_per_test_and_per_equation_and_a_summary_per_student(tmp_path):
    hint = "Hint: your result equals what softmax(Q K^T) V without dividing by sqrt(d_k) gives (unscaled scores)."
    runs = [
        StudentRun("ann", ["ann.py"], seconds=1.0, tests=[
            _test("t::sdpa", "passed", "attention.scaled_dot_product"),
            _test("t::softmax", "skipped", "attention.softmax_temperature",
                  message="ann.py does not define softmax(z, tau=1.0); implement it to run this test")]),
        StudentRun("una|x", ["una.py"], seconds=1.5, tests=[
            _test("t::sdpa", "failed", "attention.scaled_dot_product", hint=hint, message="result differs"),
            _test("t::sdpa2", "failed", "attention.scaled_dot_product", hint=hint, message="batched differs"),
            _test("t::both", "passed", "attention.scaled_dot_product", "attention.softmax_temperature"),
            _test("t::plain", "passed")]),
        StudentRun("eve", ["eve.py"], status="crashed", detail="the student's process exited with code 3 while "
                                                                "importing eve.py", seconds=0.3),
        StudentRun("dan", [], status="no module", detail="no .py file"),
    ]
    write(runs, tmp_path)
    with open(tmp_path / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "status", "test", "equations", "outcome", "hint", "message"]
    assert [(r["student"], r["outcome"]) for r in rows] == [
        ("ann", "passed"), ("ann", "skipped"), ("una|x", "failed"), ("una|x", "failed"), ("una|x", "passed"),
        ("una|x", "passed"), ("eve", "crashed"), ("dan", "no module")]
    assert rows[2]["hint"] == hint
    assert rows[4]["equations"] == "attention.scaled_dot_product attention.softmax_temperature"
    assert json.loads((tmp_path / "results.json").read_text()) == rows
    eq = json.loads((tmp_path / "equations.json").read_text())
    una = {r["equation"]: r for r in eq if r["student"] == "una|x"}
    assert (una["attention.scaled_dot_product"]["passed"], una["attention.scaled_dot_product"]["failed"]) == (1, 2)
    assert una["attention.scaled_dot_product"]["hints"] == hint and una["attention.softmax_temperature"]["hints"] == ""
    assert una[""]["passed"] == 1  # a test with no equation marker
    assert [r["hints"] for r in eq if r["student"] == "eve"] == [runs[2].detail]
    with open(tmp_path / "equations.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(eq) == 2 + 3 + 1 + 1
    summary = (tmp_path / "summary.md").read_text()
    assert "| una\\|x | ran | 2 | 2 | 0 | 1.5 |" in summary and "| eve | crashed | 0 | 0 | 0 | 0.3 |" in summary
    assert "- equations failed: attention.scaled_dot_product" in summary and f"- {hint}" in summary
    assert "- not implemented (skipped): attention.softmax_temperature" in summary
    assert "not implemented" not in summary.split("## una|x")[1]  # una's softmax ran (passed) in t::both
    una_md = (tmp_path / "students" / "una_x.md").read_text()
    assert una_md.startswith("# una|x\n") and hint in una_md and "ann" not in una_md
    assert "exited with code 3 while importing eve.py" in (tmp_path / "students" / "eve.md").read_text()


def test_grade_says_not_implemented_only_where_no_test_ran_and_a_function_is_missing(tmp_path):
    """An implemented function whose other tests were skipped (no course pages) is not "not implemented";
    an equation with only such skips says it was not run, and why is in results.csv."""
    runs = [StudentRun("bo", ["bo.py"], seconds=1.0, tests=[
        _test("t::a", "passed", "attention.scaled_dot_product"),
        _test("t::b", "skipped", "attention.scaled_dot_product",
              message="needs the course pages: pass --course PATH"),
        _test("t::c", "skipped", "attention.causal_mask", message="needs the course pages: pass --course PATH"),
        _test("t::d", "skipped", "attention.multi_head",
              message="bo.py: multi_head_attention raises NotImplementedError (todo); implement it")])]
    write(runs, tmp_path)
    md = (tmp_path / "students" / "bo.md").read_text()
    assert "- not implemented (skipped): attention.multi_head\n" in md + "\n"
    assert "- not run (skipped for another reason; see results.csv): attention.causal_mask" in md
    assert "scaled_dot_product" not in md.split("- not implemented")[1]


def test_grade_a_dead_process_says_where_it_was(tmp_path):
    progress = tmp_path / "p"
    assert _where(progress) == "before any test ran"
    progress.write_text('{"start": "t::a"}\n{"importing": "eve.py"}\n')
    assert _where(progress) == "while importing eve.py"
    progress.write_text('{"start": "t::a"}\n{"importing": "eve.py"}\n{"imported": "eve.py"}\n')
    assert _where(progress) == "in test t::a"
    progress.write_text('{"start": "t::a"}\n{"end": "t::a"}\n')
    assert _where(progress) == "after the tests ran"


def test_grade_shards_of_a_class_merge_into_the_tables_of_the_whole_class(tmp_path):
    cls = tmp_path / "class"
    for name in ("ann", "bob", "cid", "dan", "eve"):  # folders with two modules: 'no module', no process started
        (cls / name).mkdir(parents=True)
        (cls / name / "a.py").write_text("")
        (cls / name / "b.py").write_text("")
    parts = [grade(cls, "attention", output=tmp_path / f"part{k}", shard=(k, 2)) for k in range(2)]
    assert [[r.student for r in p] for p in parts] == [["ann", "cid", "eve"], ["bob", "dan"]]
    merged = merge([tmp_path / "part0", tmp_path / "part1"], tmp_path / "all")
    assert [r.student for r in merged] == ["ann", "bob", "cid", "dan", "eve"]
    assert all(r.status == "no module" for r in merged)
    assert (tmp_path / "all" / "summary.md").read_text().count("| no module |") == 5
    with pytest.raises(ValueError, match="also in another part"):
        merge([tmp_path / "part0", tmp_path / "part0"], tmp_path / "again")
    with pytest.raises(ValueError, match="shard 2/2"):
        grade(cls, "attention", output=tmp_path / "x", shard=(2, 2))


def test_grade_command_line_shards_merges_and_names_its_usage_errors(tmp_path, capsys):
    cls = tmp_path / "class"
    for name in ("ann", "bob"):
        (cls / name).mkdir(parents=True)
    assert main([str(cls), "--topic", "attention", "--shard", "1/2", "-o", str(tmp_path / "p1")]) == 0
    assert main([str(cls), "--topic", "attention", "--shard", "0/2", "-o", str(tmp_path / "p0")]) == 0
    assert main(["--merge", str(tmp_path / "p0"), str(tmp_path / "p1"), "-o", str(tmp_path / "all")]) == 0
    out = capsys.readouterr().out
    assert out.endswith("| ann | no module | 0 | 0 | 0 | 0.0 |\n| bob | no module | 0 | 0 | 0 | 0.0 |\n\n## ann\n\n"
                        "- no module: no .py file (or several without <topic>.py names) in the folder\n\n## bob\n\n"
                        "- no module: no .py file (or several without <topic>.py names) in the folder\n")
    assert main([str(cls)]) == 2 and "give the submissions folder and --topic" in capsys.readouterr().err
    assert main([str(cls), "--topic", "attention", "--shard", "1"]) == 2
    assert "--shard '1': expected K/N" in capsys.readouterr().err


@pytest.mark.bad_input
@pytest.mark.parametrize("bad", [-1.0, 0.0, float("nan"), float("inf")])
def test_grade_refuses_a_per_call_limit_that_is_not_a_positive_finite_number(tmp_path, bad):
    (tmp_path / "ann.py").write_text(CORRECT)
    with pytest.raises(ValueError, match=r"--impl-timeout .*: expected a positive, finite number of seconds"):
        grade(tmp_path, "attention", output=tmp_path / "out", call_timeout=bad)
    with pytest.raises(ValueError, match=r"--impl-array 'jax': expected 'numpy' or 'torch'"):
        grade(tmp_path, "attention", output=tmp_path / "out", array_api="jax")


def test_grade_blames_only_the_equations_whose_functions_a_failing_test_called(tmp_path):
    """A test of two equations that failed while calling only the student's lstm_cell: lstm_forget_gate, never
    called, is not listed as failed (the issue: equations the student never wrote were)."""
    t = _test("t::cell", "failed", "recurrent.lstm_cell", "recurrent.lstm_forget_gate", message="differs")
    t["functions"] = ["lstm_cell"]
    old = _test("t::old", "failed", "recurrent.gru_cell", message="differs")  # a record without "functions"
    write([StudentRun("cy", ["cy.py"], seconds=1.0, tests=[t, old])], tmp_path)
    md = (tmp_path / "students" / "cy.md").read_text()
    assert "- equations failed: recurrent.gru_cell, recurrent.lstm_cell\n" in md
    assert "- in a failing test, but their functions were not called: recurrent.lstm_forget_gate" in md
