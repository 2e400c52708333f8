"""The course-CI report proved on a mini-course written for the tests (tests/data/minicourse).

Two short pages (pages/coins.md, pages/weights.md), five worked-example files with recipes that reuse
the project's references (examples/minicourse/), and the equations they display (equations.yaml). Planted:
a wrong number (error), a rounding erratum, a convention difference, a carried rounding, a wrong list of
members, a changed equation, a code block that fails, one that needs the network, one whose stated output
is right, and a worked example no file covers. Variants made here in tmp_path: a fixed erratum against a
baseline, a new erratum, shifted line numbers, a claim whose anchor is gone, and the clean mini-course.

In-process and cheap: the report API (lmverify.report.build / main), never pytest or the CLI in a
subprocess; the mini pages' four code blocks are tiny (about 0.1 s each).
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lmverify import report

MINI = Path(__file__).parent / "data" / "minicourse"
PAGES, EXAMPLES, EQUATIONS = MINI / "pages", MINI / "examples", MINI / "equations.yaml"

#: every fix that turns the planted mini-course into a clean one: (page, planted text, fixed text)
FIXES = [
    ("coins.md", r"\(H \approx 0.822\)", r"\(H \approx 0.722\)"),                      # error
    ("coins.md", r"\(-\ln 0.1 \approx 2.302\)", r"\(-\ln 0.1 \approx 2.303\)"),          # rounding
    ("coins.md", "(0.85, 0.05, 0.05, 0.05)", "(0.80, 0.07, 0.07, 0.07)"),                # convention
    ("coins.md", "probs = [0.5, 0.5, 0.0]", "probs = [0.5, 0.5]"),                       # failing code block
    ("weights.md", r"\exp(z_i \tau)}{\sum_j \exp(z_j \tau)}", r"\exp(z_i / \tau)}{\sum_j \exp(z_j / \tau)}"),
    ("weights.md", "`whe`, `her`, `re>`", "`whe`, `her`, `ere`, `re>`"),                 # list claim
]


def _copy(tmp_path: Path, fixes=(), prefix: str = "") -> Path:
    """A copy of the mini pages with ``fixes`` applied (each must apply once) and ``prefix`` at the top."""
    course = tmp_path / "pages"
    shutil.copytree(PAGES, course, dirs_exist_ok=True)
    for page, old, new in fixes:
        text = (course / page).read_text(encoding="utf-8")
        assert text.count(old) == 1, (page, old)
        (course / page).write_text(text.replace(old, new), encoding="utf-8")
    if prefix:
        for page in ("coins.md", "weights.md"):
            (course / page).write_text(prefix + (course / page).read_text(encoding="utf-8"), encoding="utf-8")
    return course


def _build(course: Path, code: bool = False) -> report.Reports:
    return report.build(course, examples_dir=EXAMPLES, equations=report.load_equations(EQUATIONS), code=code)


def _main(capsys, course: Path, *args: str) -> tuple[int, str, str]:
    rc = report.main(["--course", str(course), "--examples-dir", str(EXAMPLES), "--equations", str(EQUATIONS), *args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def planted() -> report.Reports:
    """The planted mini-course's report, code blocks run (once for the module)."""
    return _build(PAGES, code=True)


def _findings(reports) -> set[tuple[str, int, str, str]]:
    return {(e.page, e.line, e.what, e.kind) for e in report.findings(reports)}


PLANTED = {
    ("coins.md", 18, "H in bits", "error"),
    ("coins.md", 23, "-ln 0.1", "rounding"),
    *{("coins.md", 31, f"smoothed target[{i}]", "convention") for i in range(4)},
    ("weights.md", 23, "3-grams of where", "error"),
    ("weights.md", 8, "attention.softmax_temperature", "equation"),
    ("coins.md", 56, "code block at line 53", "code"),
}


# ---------------------------------------------------------------- each planted mistake, its line, its verdict


def test_minicourse_every_planted_mistake_is_reported_with_its_line_and_verdict(planted):
    assert _findings(planted) == PLANTED
    verdicts = {(rep.example.id, r.claim.label): (rep.page_lines[i], r.verdict)
                for rep in planted for i, r in enumerate(rep.results)}
    assert verdicts[("minicourse.four_logits", "sum of the numerators")] == (14, "carried")  # never an erratum
    assert verdicts[("minicourse.biased_coin", "heads term")] == (16, "correct")
    assert verdicts[("minicourse.word_pieces", "3-grams of cat, in order")] == (24, "correct")
    wrong = {e.what: e for e in report.errata(planted)}
    assert wrong["H in bits"].correct == "0.722" and wrong["-ln 0.1"].correct == "2.303"
    assert wrong["smoothed target[1]"].correct == "0.07"
    pieces = wrong["3-grams of where"]  # a list claim names what is missing and extra
    assert pieces.claimed == "<wh, whe, her, re>" and "missing ere" in pieces.explanation
    assert not any(rep.page_problems or rep.mismatches for rep in planted)


def test_minicourse_changed_equation_names_the_nearest_line(planted):
    changed = [e for e in planted.equations if e.changed]
    assert [(e.id, e.page) for e in changed] == [("attention.softmax_temperature", "weights.md")]
    assert changed[0].candidate[0] == 8 and r"\exp(z_i \tau)" in changed[0].candidate[1]
    assert [e.line for e in planted.equations if not e.changed] == [11]  # coins.md's entropy, as catalogued


def test_minicourse_code_blocks_ran_skipped_failed_with_reasons(planted):
    got = {(b.page, b.line): b for b in planted.code}
    assert {k: b.status for k, b in got.items()} == {("coins.md", 38): "ran", ("coins.md", 53): "failed",
                                                     ("weights.md", 29): "ran", ("weights.md", 39): "skipped"}
    assert got[("coins.md", 38)].output == "as stated"  # the page's "Output:" fence matches what it prints
    failed = got[("coins.md", 53)]
    assert failed.error_line == 56 and failed.reason == "ValueError: math domain error"
    assert "needs the network (gensim.downloader)" in got[("weights.md", 39)].reason
    assert got[("weights.md", 29)].output is None  # no stated output: nothing to compare


def test_minicourse_uncovered_example_is_listed(planted):
    rows = {(r["page"], r["line"]): r["covered_by"] for r in planted.page_examples}
    assert rows[("weights.md", 17)] == []  # "A Higher Temperature": no worked-example file
    assert sum(1 for c in rows.values() if c) == 5 and len(rows) == 6
    text = report.markdown(planted)
    assert "| weights.md | 3 | 2 | Worked Example: A Higher Temperature (line 17) |" in text


def test_minicourse_markdown_junit_and_annotations_agree(planted, tmp_path):
    text = report.markdown(planted)
    assert "## Code blocks" in text and "| coins.md | 53 | **failed** |" in text
    assert "ValueError: math domain error (line 56)" in text
    assert "4 code block(s): 2 ran, 1 skipped, 1 failed." in text
    assert "Pages checked: 2; displayed equations looked up: 2 (1 changed); code blocks: 4 (2 ran, 1 skipped, 1 failed)" in text
    assert "## Equations of the pages" in text and "1 / 2 displayed equations" in text
    assert "## Equation catalogue coverage" not in text  # the mini-course brings its own equations
    junit = tmp_path / "r.xml"
    report.junit(planted, junit)
    suite = ET.parse(junit).getroot()
    assert int(suite.get("failures")) == len(PLANTED) and suite.get("skipped") == "1"
    code_cases = [c for c in suite.findall("testcase") if c.get("classname").endswith(".code")]
    assert len(code_cases) == 4  # one case per block
    failing = {(c.get("classname"), c.get("line")) for c in suite.findall("testcase") if c.find("failure") is not None}
    assert ("coins.code", "56") in failing and ("weights.equations", "8") in failing and ("coins.biased_coin", "18") in failing
    notes = report.github_annotations(planted)
    assert notes.count("::error ") + notes.count("::warning ") == len(PLANTED)
    assert f"::error file={PAGES / 'coins.md'},line=56,title=code block failed" in notes
    assert "::notice " in notes and "::warning " in notes  # the skipped block; the rounding erratum


# ---------------------------------------------------------------- gates and exit codes


def test_minicourse_gates_by_kind(planted):
    for kind, expected in [("error", 2), ("rounding", 1), ("convention", 4), ("equation", 1), ("code", 1)]:
        new, fixed = report.gate(planted, {kind})
        assert len(new) == expected and {e.kind for e in new} == {kind} and not fixed, kind
    assert len(report.gate(planted, {"any"})[0]) == len(PLANTED)
    assert report.gate(planted, set()) == ([], [])


def test_minicourse_exit_codes(capsys, tmp_path):
    from lmverify.cli import EXIT_ERRATA, EXIT_OK, EXIT_OUT_OF_DATE

    assert _main(capsys, PAGES, "--no-code")[0] == EXIT_OK  # errata alone do not fail a report
    rc, out, err = _main(capsys, PAGES, "--fail-on", "code")
    assert rc == EXIT_ERRATA and "code: coins.md:56 code block at line 53: ValueError: math domain error" in err
    assert _main(capsys, PAGES, "--no-code", "--fail-on", "code")[0] == EXIT_OK
    assert "Not run (`--no-code`)." in _main(capsys, PAGES, "--no-code")[1]
    rc, _, err = _main(capsys, PAGES, "--no-code", "--fail-on", "equation")
    assert rc == EXIT_ERRATA and "equation: weights.md:8 attention.softmax_temperature: the page now reads" in err
    with pytest.raises(SystemExit):
        _main(capsys, PAGES, "--fail-on", "carried")  # carried rounding is never a gate
    gone = _copy(tmp_path, [("coins.md", r"\log_2 0.8 \approx 0.258", r"\log_2(0.8) = 0.258")])  # context gone
    rc, out, _ = _main(capsys, gone, "--no-code")
    assert rc == EXIT_OUT_OF_DATE and "- missing: heads term: context" in out
    row = next(ln for ln in out.splitlines() if ln.startswith("| heads term |"))
    assert row.startswith("| heads term | (missing) | 0.258 |") and row.endswith("| **missing** |")  # never correct
    assert "missing: 1" in out and "correct: 6" not in out.split("\n")[3]
    # a missing claim is a gate kind of its own
    rc, _, err = _main(capsys, gone, "--no-code", "--fail-on", "missing")
    assert rc == EXIT_ERRATA and "missing: coins.md:16 heads term" in err


# ---------------------------------------------------------------- the baseline: accepted, fixed, new


def test_minicourse_baseline_accepts_known_findings_reports_fixed_and_fails_on_new(capsys, tmp_path):
    from lmverify.cli import EXIT_ERRATA, EXIT_OK

    base = tmp_path / "accepted.json"
    rc, _, err = _main(capsys, PAGES, "--write-baseline", str(base))
    assert rc == EXIT_OK and f"wrote {len(PLANTED)} accepted finding(s)" in err
    kinds = sorted(r["kind"] for r in json.loads(base.read_text())["errata"])
    assert kinds == sorted(k for *_, k in PLANTED)
    assert _main(capsys, PAGES, "--baseline", str(base), "--fail-on", "any")[0] == EXIT_OK
    # the course fixes an erratum and its failing block: CI stays green and says so
    fixed = _copy(tmp_path / "fixed", [FIXES[0], FIXES[3]])
    rc, out, err = _main(capsys, fixed, "--baseline", str(base), "--fail-on", "any")
    assert rc == EXIT_OK
    assert "the page now prints 0.722 (recorded '0.822' as error); judged: **correct** - the erratum is fixed" in out
    assert "fixed since the baseline: coins.md H in bits (was 0.822)" in err
    assert "fixed since the baseline: coins.md code block " in err
    # a new erratum is not in the baseline: CI fails on it alone
    new = _copy(tmp_path / "new", [("coins.md", r"0.2 \approx 0.464\)", r"0.2 \approx 0.465\)")])
    rc, _, err = _main(capsys, new, "--no-code", "--baseline", str(base), "--fail-on", "any")
    assert rc == EXIT_ERRATA and "new rounding: coins.md:17 tails term: claimed 0.465, correct 0.464" in err
    assert err.count("lmverify: new ") == 1


def test_minicourse_shifted_lines_move_every_finding_and_keep_the_baseline(capsys, tmp_path):
    from lmverify.cli import EXIT_OK

    base = tmp_path / "accepted.json"
    report.write_baseline(_build(PAGES), base)
    shifted = _copy(tmp_path, prefix="<!-- five lines added above -->\n\n\n\n\n")
    reports = _build(shifted)
    assert _findings(reports) == {(p, ln + 5, w, k) for p, ln, w, k in PLANTED if k != "code"}
    assert not any(rep.page_problems or rep.mismatches for rep in reports)
    assert report.gate(reports, {"any"}, report.read_baseline(base)) == ([], [])
    assert _main(capsys, shifted, "--no-code", "--baseline", str(base), "--fail-on", "any")[0] == EXIT_OK


def test_minicourse_clean_course_passes_every_gate(capsys, tmp_path):
    from lmverify.cli import EXIT_OK

    clean = _copy(tmp_path, FIXES)
    rc, out, err = _main(capsys, clean, "--fail-on", "any")
    assert rc == EXIT_OK, err
    assert "No errata: every claim is correct at its printed precision." in out
    assert "2 / 2 displayed equations are printed in their page as catalogued." in out
    assert "4 code block(s): 3 ran, 1 skipped, 0 failed." in out  # a skipped block is not a failure
    assert "judged: **correct** - the erratum is fixed" in out and "| weights.md | 14 | sum of the numerators |" in out
