"""Bad input gets a named answer: each case feeds the bad input and asserts the error that names the
file, page, key, argument or token, and what was expected (never a raw traceback, never silence)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from lmverify.worked import WorkedExampleError, evaluate, load_example

def _example(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "attention"
    folder.mkdir(exist_ok=True)
    path = folder / "ex.yaml"
    path.write_text(textwrap.dedent(text))
    return path


TINY = """\
id: attention.tiny
title: tiny
page: attention_math.md
section: "Worked Example: Four Tokens, \\\\(d_k = 4\\\\)"
recipe: four_token_example
equations: [attention.scaled_dot_product]
inputs: {Q_scale: 2, K: [[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 0], [0, 0, 1, 1]], V: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}
claims:
  - quantity: Q
    claimed: [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 2]]
    line: 101
    anchor: "Q = 2 I_4 = \\\\begin{bmatrix}"
    printed: "2&0&0&0"
    verdict: correct
"""


# ---------------------------------------------------------------- worked-example YAML


def test_worked_example_input_of_the_wrong_type_names_file_key_and_inputs(tmp_path):
    path = _example(tmp_path, TINY.replace("Q_scale: 2", "Q_scale: two"))
    with pytest.raises(WorkedExampleError) as err:
        evaluate(load_example(path))
    msg = str(err.value)
    assert str(path) in msg and "key 'inputs'" in msg and "four_token_example failed on these inputs" in msg
    assert "Q_scale (str)" in msg


def test_worked_example_missing_input_names_the_input_the_recipe_needs(tmp_path):
    path = _example(tmp_path, TINY.replace("Q_scale: 2, ", ""))
    with pytest.raises(WorkedExampleError, match=r"needs the input 'Q_scale', which is missing \(the file gives \['K', 'V'\]\)"):
        evaluate(load_example(path))


def test_worked_example_bound_must_be_numeric(tmp_path):
    text = TINY.replace("    verdict: correct\n", "    verdict: correct\n    bound: {min: high}\n").replace(
        "claimed: [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 2]]", "claimed: \"large\"")
    with pytest.raises(WorkedExampleError, match=r"key 'bound.min' must be a number, got str: 'high'"):
        load_example(_example(tmp_path, text))


def test_worked_example_duplicate_keys_are_refused(tmp_path):
    text = TINY.replace("title: tiny\n", "title: tiny\ntitle: again\n")
    with pytest.raises(WorkedExampleError, match=r"key 'title' appears twice"):
        load_example(_example(tmp_path, text))


def test_worked_example_not_utf8_is_named(tmp_path):
    path = _example(tmp_path, TINY)
    path.write_bytes(TINY.replace("tiny", "t\xe9").encode("cp1252"))
    with pytest.raises(WorkedExampleError, match=r"ex.yaml: not UTF-8 text"):
        load_example(path)


def test_worked_example_with_a_context_or_section_not_in_the_page_is_missing(tmp_path, course_dir):
    """A claim whose context is not in the page, or whose section is not, is missing: never judged, never
    correct, with the reason."""
    from lmverify.course.course import Course
    from lmverify.course.judging import MISSING, judge_example

    course = Course(course_dir)
    ex = load_example(_example(tmp_path, TINY))
    ex.claims[0].before, ex.claims[0].anchor = "acontextthepagedoesnothave=", None
    rep = judge_example(ex, course)
    assert rep.results[0].verdict == MISSING and "not found" in rep.page_problems[0]
    text = load_example(_example(tmp_path, TINY.replace("Q = 2 I_4", "R = 3 J_5")))  # an anchor not in the page
    rep = judge_example(text, course)
    assert rep.results[0].verdict == MISSING and "not found" in rep.page_problems[0] and rep.page_lines[0] is None


# ---------------------------------------------------------------- the command line and the course folder


def _run(argv, capsys):
    from lmverify.cli import main

    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_report_unknown_topic_is_a_usage_error_with_a_suggestion(capsys):
    from lmverify.cli import EXIT_USAGE

    with pytest.raises(SystemExit) as exit_:
        _run(["report", "--topic", "atention"], capsys)
    assert exit_.value.code == EXIT_USAGE
    assert "unknown topic; expected one of" in capsys.readouterr().err


def test_report_empty_course_folder_is_one_named_error(tmp_path, capsys):
    from lmverify.cli import EXIT_COURSE

    code, out, err = _run(["report", "--course", str(tmp_path)], capsys)
    assert code == EXIT_COURSE and "holds no course pages" in err and err.count("\n") == 1 and out == ""


def test_report_missing_page_is_named_once(tmp_path, capsys, course_dir):
    from lmverify.cli import EXIT_COURSE

    (tmp_path / "index.md").write_text("# index\n")
    code, _, err = _run(["report", "--course", str(tmp_path), "--topic", "attention", "--no-code"], capsys)
    assert code == EXIT_COURSE and "lacks the page(s) attention_math.md" in err


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252"])
def test_report_page_in_another_encoding_names_the_page(tmp_path, capsys, course_dir, encoding):
    from lmverify.cli import EXIT_COURSE

    text = (course_dir / "attention_math.md").read_text(encoding="utf-8") + "\nna\u00efve caf\u00e9\n"
    (tmp_path / "attention_math.md").write_bytes(text.encode(encoding, errors="replace"))
    code, _, err = _run(["report", "--course", str(tmp_path), "--topic", "attention", "--no-code"], capsys)
    assert code == EXIT_COURSE and "attention_math.md' is not UTF-8 text" in err
    assert ("UTF-16" if encoding == "utf-16" else "cp1252") in err


def test_report_junit_into_a_missing_folder_is_a_usage_error(tmp_path, capsys):
    from lmverify.cli import EXIT_USAGE

    with pytest.raises(SystemExit) as exit_:
        _run(["report", "--junit", str(tmp_path / "no" / "such" / "r.xml")], capsys)
    assert exit_.value.code == EXIT_USAGE and "does not exist" in capsys.readouterr().err


def test_report_exit_codes_are_distinct():
    from lmverify import cli

    codes = [cli.EXIT_OK, cli.EXIT_ERRATA, cli.EXIT_USAGE, cli.EXIT_COURSE, cli.EXIT_DATA, cli.EXIT_OUT_OF_DATE]
    assert len(set(codes)) == len(codes)


def test_catalogue_missing_page_is_a_named_error(tmp_path):
    from lmverify.pages import CourseError, read_page

    with pytest.raises(CourseError, match=r"page 'attention_math.md' is not in the course folder"):
        read_page(tmp_path, "attention_math.md")
