"""The suite's own machinery: tolerances, conversion, failure messages, --impl student modules, the report."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lmverify import convert
from lmverify.backends import Backend, ImplError, StudentModule, _check_signature
from lmverify.compare import VerificationError, assert_close, assert_true
from lmverify.tolerance import DEFAULTS, OVERRIDES, SUBNORMAL_SPACING, UNIT_ROUNDOFF, received_bound, tolerance_for

ROOT = Path(__file__).resolve().parent.parent
STUDENTS = Path(__file__).parent / "data" / "students"

# ---------------------------------------------------------------- tolerances


def test_tolerance_every_entry_gives_both_rtol_and_atol_and_a_reason():
    for key, tol in list(DEFAULTS.items()) + list(OVERRIDES.items()):
        assert tol.rtol >= 0 and tol.atol >= 0 and tol.reason, key


def test_tolerance_unknown_dtype_is_an_error():
    with pytest.raises(ValueError, match="unknown dtype 'float16'"):
        tolerance_for("float16")


def test_tolerance_float64_matches_torch_testing_defaults():
    assert (tolerance_for("float64").rtol, tolerance_for("float64").atol) == (1e-7, 1e-7)
    assert (tolerance_for("float32").rtol, tolerance_for("float32").atol) == (1.3e-6, 1e-5)


# ---------------------------------------------------------------- conversion


@given(x=st.floats(allow_nan=False, allow_infinity=False, width=64))
def test_convert_to_sympy_is_exact(x):
    r = convert.to_sympy(np.float64(x))
    assert Fraction(int(r.p), int(r.q)) == Fraction(x)


@given(a=hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=3),
                    elements=st.floats(-1e6, 1e6, allow_nan=False)))
def test_convert_numpy_sympy_numpy_round_trip_is_exact(a):
    back = convert.to_numpy(convert.to_sympy(a))
    np.testing.assert_array_equal(np.asarray(back), a)


def test_convert_keeps_infinities_booleans_and_dtypes():
    assert convert.to_sympy(np.float64(-np.inf)) == -sp.oo
    assert convert.to_numpy(sp.Matrix([[sp.oo, -sp.oo]])).tolist() == [[np.inf, -np.inf]]
    m = np.array([[True, False]])
    assert convert.to_torch(m).dtype == torch.bool and convert.to_numpy(torch.tensor(m)).dtype == bool
    assert convert.to_torch(np.ones(2), "float32").dtype == torch.float32
    assert isinstance(convert.to_sympy(np.eye(2)), sp.MatrixBase)
    assert isinstance(convert.to_sympy(np.ones(3)), sp.NDimArray)
    with pytest.raises(ValueError, match="dtype must be one of"):
        convert.to_torch(np.ones(2), "float16")


# ---------------------------------------------------------------- failure messages


def test_assert_close_message_names_equation_input_and_worst_difference():
    with pytest.raises(VerificationError) as err:
        assert_close(np.array([[0.5, 0.25], [0.1, 0.2]]), np.array([[0.5, 0.5], [0.1, 0.2]]),
                     tolerance_for("float64"), equation="attention.scaled_dot_product", backend="impl (x.py)",
                     inputs={"Q": np.eye(2)})
    msg = str(err.value)
    for needle in ("attention.scaled_dot_product", "softmax", "Backend: impl (x.py)", "Q =",
                   "Mismatched elements: 1 / 4", "Greatest absolute difference: 0.25 at index (0, 1)",
                   "Greatest relative difference: 0.5 at index (0, 1)"):
        assert needle in msg, (needle, msg)


def test_assert_close_shape_mismatch_and_nan_are_failures():
    tol = tolerance_for("float64")
    with pytest.raises(VerificationError, match=r"has shape \(3,\), expected shape \(1, 3\)"):
        assert_close(np.ones(3), np.ones((1, 3)), tol)
    with pytest.raises(VerificationError, match="NaN where a number was expected"):
        assert_close(np.array([np.nan, 1.0]), np.array([0.0, 1.0]), tol)
    assert_close(np.array([np.inf, -np.inf, 1.0]), np.array([np.inf, -np.inf, 1.0]), tol)
    with pytest.raises(VerificationError):
        assert_close(np.array([np.inf]), np.array([-np.inf]), tol)


def test_assert_true_names_the_law():
    with pytest.raises(VerificationError, match="law violated: rows sum to one"):
        assert_true(False, equation=None, backend="numpy", law="rows sum to one")


def test_a_law_without_a_bound_says_where_it_fails_never_none():
    with pytest.raises(VerificationError) as info:
        assert_true(np.array([True, False, True, False]), equation=None, backend="numpy", law="weights are >= 0")
    expected = str(info.value).split("Expected (what the law requires):\n", 1)[1].split("\nGot:", 1)[0]
    assert "None" not in expected
    assert "true at each of the 4 elements" in expected and "false at 2: index (1,), (3,)" in expected


# ---------------------------------------------------------------- bounds from the inputs as received


def test_received_bound_rounds_the_inputs_to_the_backends_dtype_subnormals_included():
    """3.18902254e-43 is normal in float64, subnormal in float32: float32 holds 228 x 2^-149 (the thorough
    profile's Luong case); the margin of one rounding is 2 u |bound| plus one subnormal spacing."""
    v = np.array([3.18902254e-43])
    b32 = received_bound("float32", lambda v: np.abs(v).sum(), {"v": v}, roundings=1)
    assert b32.value == 228 * 2.0**-149 == float(np.float32(3.18902254e-43))
    assert b32.margin == 2 * 2.0**-24 * b32.value + 2.0**-149 == 2 * UNIT_ROUNDOFF["float32"] * b32.value + SUBNORMAL_SPACING["float32"]
    assert b32.upper > np.float32(np.tanh(np.float32(4.0)) * np.float32(v[0]))  # the float32 score
    b64 = received_bound("float64", lambda v: np.abs(v).sum(), {"v": v}, roundings=1)
    assert b64.value == v[0] and b64.margin == 2 * 2.0**-53 * v[0] + 2.0**-1074
    assert received_bound("exact", lambda v: v, {"v": 0.1}, roundings=0).value == 0.1  # SymPy receives float64 exactly
    # below half float32's smallest subnormal an input is 0; integers, booleans and objects pass unchanged
    seen = {}
    got = received_bound("float32", lambda **kw: seen.update(kw) or 0.0,
                         {"x": np.array([7e-46, 1e-300, 0.1]), "t": [0.1, 2], "n": 3, "flag": True, "name": "ab",
                          "idx": np.array([1, 2])}, roundings=0)
    assert seen["x"].tolist() == [0.0, 0.0, float(np.float32(0.1))] and seen["x"].dtype == np.float64
    assert seen["t"] == [float(np.float32(0.1)), 2] and seen["n"] == 3 and seen["flag"] is True and seen["name"] == "ab"
    assert seen["idx"].dtype.kind == "i" and got.margin == 0.0
    with pytest.raises(ValueError, match="roundings"):
        received_bound("float32", lambda v: v, {"v": v}, roundings=-1)
    with pytest.raises(ValueError, match="unknown dtype 'float16'"):
        received_bound("float16", lambda v: v, {"v": v})


# ---------------------------------------------------------------- student modules (--impl)


def _signature_of(src: str):
    ns: dict = {}
    exec(src, ns)  # test-local function definitions only
    return ns["f"]


def test_impl_signature_check_accepts_extra_optional_parameters():
    ref = _signature_of("def f(Q, K, V, mask=None): pass")
    _check_signature(_signature_of("def f(Q, K, V, mask=None, dropout=0.0): pass"), ref, "s.py: function f")
    _check_signature(_signature_of("def f(*args, **kwargs): pass"), ref, "s.py: function f")


@pytest.mark.parametrize("src,problem", [
    ("def f(Q, K): pass", "takes 2 positional parameters, expected at least 3"),
    ("def f(Q, K, V): pass", "has no parameter 'mask'"),
    ("def f(Q, K, V, mask=None, *, scale): pass", "requires parameter 'scale'"),
])
def test_impl_signature_check_rejects_mismatches(src, problem):
    ref = _signature_of("def f(Q, K, V, mask=None): pass")
    with pytest.raises(ImplError) as err:
        _check_signature(_signature_of(src), ref, "s.py: function f")
    assert "s.py: function f" in str(err.value) and problem in str(err.value)


def test_impl_missing_file_and_import_failure_are_named():
    with pytest.raises(ImplError, match="no such file"):
        StudentModule("nowhere/student.py").module
    with pytest.raises(ImplError, match=r"broken_import.py failed: RuntimeError: student module crashed"):
        StudentModule(str(STUDENTS / "broken_import.py")).module


def _run_pytest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    from lmverify.grade import run_pytest

    return run_pytest(*args, env=env)


@pytest.mark.slow
def test_impl_student_without_sqrt_dk_scaling_fails_naming_equation_and_input():
    r = _run_pytest("tests/test_equations.py", "-k", "matches_oracle and scaled_dot_product",
                    "--impl", str(STUDENTS / "unscaled_scores.py"))
    assert r.returncode == 1, r.stdout[-3000:]
    out = r.stdout
    assert "attention.scaled_dot_product" in out and "\\sqrt{d_k}" in out
    assert "Input (minimal: hypothesis shrinks failing inputs):" in out and "Q =" in out
    assert "Greatest absolute difference" in out
    assert "Hint: your result equals what softmax(Q K^T) V without dividing by sqrt(d_k) gives" in out


@pytest.mark.slow
@pytest.mark.parametrize("form", ["space"])  # the "=" form is what every other --impl test here uses
def test_impl_space_form_picks_the_project_rootdir_for_a_file_outside_the_project(tmp_path, form):
    """``--impl /elsewhere/my.py`` must select this project's rootdir and configuration as ``--impl=`` does."""
    student = tmp_path / "my_attention.py"
    student.write_text((STUDENTS / "late_mask.py").read_text())
    opt = ["--impl", str(student)] if form == "space" else [f"--impl={student}"]
    r = _run_pytest(*opt, "-k", "causal_mask_row_equals", "--co")
    # node ids relative to the project root, and the project's testpaths collected: rootdir and ini are ours
    assert r.returncode == 0, r.stdout[-2000:]
    assert "\ntests/test_attention.py::test_causal_mask_row_equals_attention_over_its_prefix[impl]" in "\n" + r.stdout


@pytest.mark.slow
def test_impl_per_topic_module_leaves_other_topics_skipped_with_the_option_to_pass():
    r = _run_pytest("tests/test_equations.py", "-k", "matches_oracle and (softmax_temperature- or entropy)",
                    f"--impl=attention={STUDENTS / 'torch_student.py'}", "--impl-array", "torch", "-rs")
    assert "no --impl module for the information topic" in r.stdout, r.stdout[-3000:]
    assert "pass --impl information=path/to/your_information.py" in r.stdout


def test_impl_option_rejects_an_unknown_topic():
    r = _run_pytest("--impl=atention=x.py", "--co")
    assert r.returncode == 4 and "unknown topic 'atention'" in r.stderr + r.stdout


def test_empty_keyword_selection_says_what_the_suite_covers():
    r = _run_pytest("tests/test_attention.py", "-k", "lstmm")
    assert r.returncode == 5
    assert "no test matches -k 'lstmm'" in r.stdout and "topics: attention" in r.stdout


@pytest.mark.slow
def test_impl_student_masking_after_normalising_fails_the_causal_mask_tests():
    r = _run_pytest("tests/test_attention.py", "-k", "causal_mask_row_equals or causal_mask_masked",
                    "--impl", str(STUDENTS / "late_mask.py"))
    assert r.returncode == 1, r.stdout[-3000:]
    assert "attention.causal_mask" in r.stdout and "causal weights of row" in r.stdout


@pytest.mark.slow
def test_impl_wrong_signature_and_broken_import_fail_with_file_and_function():
    r = _run_pytest("tests/test_attention.py", "-k", "softmax_rows", "--impl", str(STUDENTS / "wrong_signature.py"))
    assert r.returncode == 1
    assert "wrong_signature.py: function softmax: signature (logits, temperature, axis)" in r.stdout
    r = _run_pytest("tests/test_attention.py", "-k", "softmax_rows", "--impl", str(STUDENTS / "broken_import.py"))
    assert r.returncode == 1
    assert "broken_import.py failed: RuntimeError: student module crashed at import" in r.stdout


@pytest.mark.slow
def test_impl_torch_student_passes_and_unwritten_functions_are_skipped():
    r = _run_pytest("tests/test_attention.py", "-k", "scaled_dot_product_attention or softmax_rows",
                    "--impl", str(STUDENTS / "torch_student.py"), "--impl-array", "torch", "-rs")
    assert r.returncode == 0, r.stdout[-3000:]
    assert "passed" in r.stdout and "softmax raises NotImplementedError" in r.stdout


def test_impl_backend_requires_a_module():
    with pytest.raises(ValueError, match="needs the student module"):
        Backend("impl")


# ---------------------------------------------------------------- the report (main job)


def test_report_lists_claims_verdicts_and_errata(capsys, tmp_path):
    from lmverify.cli import main

    junit = tmp_path / "r.xml"
    assert main(["report", "--junit", str(junit)]) == 0
    out = capsys.readouterr().out
    assert "## Equation catalogue coverage" in out and "## Worked examples" in out and "## Errata" in out
    assert "| attention_math.md | 130 |" in out  # K^T, at its recorded line without --course
    suite = ET.parse(junit).getroot()
    assert int(suite.get("tests")) > 0 and int(suite.get("failures")) > 0


def test_report_with_course_locates_claims_on_their_lines(capsys, course_dir):
    from lmverify.cli import main

    assert main(["report", "--course", str(course_dir), "--topic", "attention", "--no-code"]) == 0
    out = capsys.readouterr().out
    assert "| attention_math.md | 132 |" in out and "K_T[2, 3] | 0 | 1 | error" in out
    assert "0 claim(s) missing from the page (not judged)" in out


def test_report_bad_course_folder_is_a_clear_error(tmp_path, capsys):
    from lmverify.cli import EXIT_COURSE, main

    assert main(["report", "--course", str(tmp_path / "missing")]) == EXIT_COURSE
    assert "no such folder" in capsys.readouterr().err


def test_trace_prints_full_precision_and_rounded_claims(capsys):
    from lmverify.cli import main

    assert main(["trace", str(ROOT / "worked_examples/attention/four_tokens.yaml")]) == 0
    out = capsys.readouterr().out
    assert "sum_row0 = 7.43656365691809" in out and "| sum of row-0 numerators | 7.436 | 7.437 | carried |" in out


@pytest.mark.slow
def test_impl_student_that_exits_at_import_is_reported_once_and_the_run_goes_on():
    r = _run_pytest("tests/test_attention.py", "-k", "softmax_rows or softmax_shift", "--impl",
                    str(STUDENTS / "exits_at_import.py"))
    assert r.returncode == 1, r.stdout[-3000:]
    assert r.stdout.count("called sys.exit(3); a module must not exit when it is imported") >= 1
    assert "failed to import (reported once" in r.stdout  # the second test points at the first report


@pytest.mark.slow
def test_impl_infinite_loop_is_stopped_at_the_time_limit_naming_the_function():
    r = _run_pytest("tests/test_attention.py", "-k", "softmax_rows", "--impl", str(STUDENTS / "infinite_loop.py"),
                    "--impl-timeout", "0.5")
    assert r.returncode == 1, r.stdout[-3000:]
    assert "infinite_loop.py: softmax ran past the time limit of 0.5 s per call" in r.stdout


@pytest.mark.slow
def test_impl_empty_module_gets_no_passes_only_skips():
    r = _run_pytest("tests/", "-k", "softmax", "--impl", str(STUDENTS / "empty.py"))
    assert r.returncode == 0, r.stdout[-3000:]
    assert " passed" not in r.stdout and "skipped" in r.stdout and "deselected" in r.stdout


def test_failure_message_prints_any_input_and_names_a_wrong_return_type():
    from lmverify.compare import VerificationError, assert_close

    with pytest.raises(VerificationError) as err:
        assert_close(None, np.zeros(2), tolerance_for("float64"), equation=None, backend="impl (x.py)",
                     inputs={"corpus": ["the cat sat", "a dog"], "nested": [[1, "a"], [2]], "n": 3})
    msg = str(err.value)
    assert "result is None (did the function forget to return?); expected an array of shape (2,)" in msg
    assert "'the cat sat'" in msg and "[[1, 'a'], [2]]" in msg
    with pytest.raises(VerificationError, match="result is a tuple of 2 values"):
        assert_close((np.zeros(2), np.zeros(2)), np.zeros(2), tolerance_for("float64"))


def test_trace_of_a_new_example_without_claims_prints_exact_forms(tmp_path, capsys):
    """An author's first draft: inputs and a recipe, no claims yet. The trace gives every intermediate
    in full precision, in exact SymPy form, and rounded in a LaTeX block."""
    from lmverify.cli import main

    text = (ROOT / "worked_examples/attention/four_tokens.yaml").read_text()
    draft = text[: text.index("claims:")] + "claims: []\n"
    folder = tmp_path / "attention"
    folder.mkdir()
    (folder / "draft.yaml").write_text(draft)
    assert main(["trace", str(folder / "draft.yaml"), "--places", "3"]) == 0
    out = capsys.readouterr().out
    assert "## Exact (SymPy)" in out and "sum_row0 = 2 + 2*E" in out and "weights_row0_sum = 1" in out
    assert "sum\\_row0 \\approx 7.437" in out and "## Claims" not in out


@pytest.mark.slow
def test_starter_of_every_topic_is_a_module_the_suite_skips_cleanly(tmp_path):
    """`lmverify starter <topic>` writes every function with its parameters, raising NotImplementedError:
    the student loop skips each with the function's name, and nothing fails (one file per topic)."""
    from lmverify.catalogue import topics
    from lmverify.starter import starter

    impls = []
    for topic in topics():
        path = tmp_path / f"my_{topic}.py"
        path.write_text(starter([topic]))
        impls.append(f"--impl={topic}={path}")
    r = _run_pytest("tests/test_equations.py", "-k", "matches_oracle or pinned", *impls, "-rs")
    assert r.returncode == 0, r.stdout[-3000:]
    assert " passed" not in r.stdout and "failed" not in r.stdout
    for topic in topics():
        assert f"my_{topic}.py: " in r.stdout and "raises NotImplementedError" in r.stdout


def test_report_junit_counts_match_the_errata_and_carry_file_and_line(tmp_path, capsys, course_dir):
    from lmverify import report
    from lmverify.cli import main

    junit = tmp_path / "r.xml"
    assert main(["report", "--course", str(course_dir), "--topic", "attention", "--junit", str(junit), "--github",
                 "--no-code"]) == 0
    out, err = capsys.readouterr()  # annotations go to stderr (the log); stdout is the report
    suite = ET.parse(junit).getroot()
    n_errata = len(report.errata(report.build(course_dir, [e for e in report.load_all_examples()
                                                           if e.topic == "attention"])))
    shown = min(n_errata, 9)  # GitHub shows 10 errors per step: 9 and a summary when there are more
    assert int(suite.get("failures")) == n_errata and err.count("::error ") == shown + (n_errata > 10)
    assert "::error" not in out
    failed = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert all(c.get("file", "").endswith("attention_math.md") and int(c.get("line")) > 0 for c in failed)
    assert {c.get("classname") for c in suite.findall("testcase")} >= {"attention_math.four_token_example"}
    assert "::error file=" in err and "attention_math.md,line=132,title=error%3A K_T[2%2C 3]::" in err


def test_report_gates_by_kind_and_against_a_baseline(tmp_path, capsys):
    import json

    from lmverify.cli import EXIT_ERRATA, EXIT_OK, main

    assert main(["report", "--topic", "attention", "--fail-on", "error"]) == EXIT_ERRATA
    assert main(["report", "--topic", "attention", "--fail-on", "convention,rounding"]) == EXIT_OK  # 7.436 is carried
    base = tmp_path / "baseline.json"
    assert main(["report", "--topic", "attention", "--write-baseline", str(base)]) == EXIT_OK
    assert main(["report", "--topic", "attention", "--baseline", str(base), "--fail-on", "any"]) == EXIT_OK
    data = json.loads(base.read_text())
    data["errata"] = [e for e in data["errata"] if e["claim"] != "K_T[2, 3]"]  # this erratum is new
    data["errata"].append({"page": "attention_math.md", "example": "attention.four_token_example", "claim": "x",
                           "claimed": "1", "kind": "error", "correct": "2"})  # and this one was fixed
    base.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["report", "--topic", "attention", "--baseline", str(base), "--fail-on", "any"]) == EXIT_ERRATA
    err = capsys.readouterr().err
    assert "new error: attention_math.md:130 K_T[2, 3]" in err and "fixed since the baseline: attention_math.md x" in err
    with pytest.raises(SystemExit):
        main(["report", "--fail-on", "typo"])


def test_page_examples_are_listed_with_what_covers_them(course_dir):
    from lmverify.coverage import page_examples
    from lmverify.pages import example_blocks

    lines = ["# T", "", '!!! example "Worked Example: A"', "    1 + 1 = 2", "## Worked Example: B", "text",
             "```python", "# Worked Example: not a heading", "```", "## Other"]
    assert [(s, e, t) for s, e, t in example_blocks(lines)] == [(3, 4, "Worked Example: A"), (5, 9, "Worked Example: B")]
    rows = page_examples(course_dir)
    four = [r for r in rows if r["page"] == "attention_math.md" and r["line"] == 92]
    assert four and four[0]["covered_by"] == ["attention.four_token_example"]


def test_report_judges_the_number_the_page_prints_now(tmp_path, capsys, course_dir):
    """A fixed erratum (7.436 -> 7.437) is good news, not a failure; a newly wrong number is judged."""
    from lmverify import report
    from lmverify.cli import EXIT_ERRATA, EXIT_OK, main

    text = (course_dir / "attention_math.md").read_text(encoding="utf-8")
    assert "7.436" in text and "0.366" in text
    (tmp_path / "attention_math.md").write_text(text.replace("7.436", "7.437"), encoding="utf-8")
    assert main(["report", "--course", str(tmp_path), "--topic", "attention", "--no-code"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "the page now prints 7.437 (recorded '7.436' as carried); judged: **correct**" in out
    assert "| attention_math.md | 169 |" not in out.split("## Errata")[1]
    (tmp_path / "attention_math.md").write_text(text.replace("w_{0,1} \\approx 0.366", "w_{0,1} \\approx 0.466"), encoding="utf-8")
    reports = report.build(tmp_path, [e for e in report.load_all_examples() if e.topic == "attention"])
    wrong = [e for e in report.errata(reports) if e.claimed == "0.466"]
    assert wrong and wrong[0].kind == "error" and wrong[0].correct == "0.366"
    assert main(["report", "--course", str(tmp_path), "--topic", "attention", "--fail-on", "error", "--no-code"]) == EXIT_ERRATA


def test_k_prefilter_three_valued_logic():
    from lmverify.selection import certainly_unselected, evaluate

    words = "test_lstm_cell_matches lstm_cell recurrent"
    assert certainly_unselected("kneser", words) and not certainly_unselected("lstm", words)
    assert not certainly_unselected("not slow", words)          # unknown: slow is a marker any item may carry
    assert certainly_unselected("kneser and not slow", words)
    assert not certainly_unselected("kneser or lstm", words)
    assert not certainly_unselected("(broken", words)            # unparsable: keep everything
    assert not certainly_unselected("lstm_cell-numpy", words)    # parameter ids joined by "-"
    assert certainly_unselected("lstm_cell-kneser", words)
    assert evaluate("a and (b or not c)", lambda w: w != "a") is False


@pytest.mark.slow
@pytest.mark.parametrize("expr", ["lstm or (cosine and not sympy) or (entropy and numpy) or (kneser and not oracle) "
                                  "or softmax_temperature-impl or numpy-sdpa"])
def test_k_prefilter_selects_exactly_what_pytest_selects(expr):
    """Leaving files and registry entries out before import must not change which tests -k selects."""
    import re

    def ids(env_value: str) -> list[str]:
        r = _run_pytest("--co", "-k", expr, env={"LMVERIFY_K_PREFILTER": env_value})
        return sorted(re.findall(r"^\S+::\S+$", r.stdout, re.M))

    fast, full = ids("1"), ids("0")
    assert fast == full and fast


@pytest.mark.slow
def test_impl_prefilter_leaves_out_only_files_that_cannot_run_the_students_code():
    """Under --impl, a test module that names no student fixture, a worked example and a notebook are not
    collected: the tests selected are the same as with every file collected, and fewer are collected."""
    import re

    def run(env_value: str) -> tuple[list[str], int]:
        r = _run_pytest("--co", "-k", "lstm or softmax_rows", f"--impl={STUDENTS / 'late_mask.py'}",
                        env={"LMVERIFY_K_PREFILTER": env_value})
        deselected = re.search(r"(\d+) deselected", r.stdout)
        return sorted(re.findall(r"^\S+::\S+$", r.stdout, re.M)), int(deselected.group(1)) if deselected else 0

    (fast, fast_deselected), (full, full_deselected) = run("1"), run("0")
    assert fast == full and fast
    assert fast_deselected < full_deselected


def test_impl_prefilter_reads_student_fixtures_from_parameters_and_strings():
    from lmverify.pytest_plugin import _STUDENT_FIXTURE_WORD

    named = ["def test_a(check, data):", "def test_b(\n    numeric_backend,\n):", "def f(x, backend: Backend):",
             "@pytest.mark.usefixtures('check')", 'request.getfixturevalue("backend")']
    unnamed = ["def test_a(data):  # check the result", "backend_name = 1", "self.check(x)", "checks = 2"]
    assert all(_STUDENT_FIXTURE_WORD.search(t) for t in named)
    assert not any(_STUDENT_FIXTURE_WORD.search(t) for t in unnamed)


def test_impl_prefilter_reads_parameter_lists_not_call_arguments():
    """A ``check=True`` passed to a call is not the student fixture ``check``; a parameter is, wherever it stands
    in a list with defaults, annotations and brackets; a list that cannot be read counts as naming one."""
    from lmverify.pytest_plugin import _names_student_fixture

    named = ["def test_a(data=st.data(), check=None):", "def f(x: tuple[int, int] = (1, 2), *, backend):",
             "def test_b(\n    tmp_path,\n    numeric_backend,\n):", "@pytest.mark.usefixtures('check')",
             "def test_c(x=(1,\n    check, y", "subprocess.run(['x'], check=True)\ndef test_d(a, check):\n    pass"]
    unnamed = ["subprocess.run(['x'], check=True)\ndef test_d(a, b):\n    pass", "def f(x, check_all=True):",
               "run(cmd, check=False, backend_name='x')", "def g(self, checks):"]
    assert all(_names_student_fixture(t) for t in named), [t for t in named if not _names_student_fixture(t)]
    assert not any(_names_student_fixture(t) for t in unnamed), [t for t in unnamed if _names_student_fixture(t)]


@pytest.mark.slow
def test_impl_student_with_only_the_ngram_perplexity_runs_the_ngram_tests_without_signature_failures():
    """Students per topic: only the functions the selected tests call are checked, when they are called."""
    r = _run_pytest("tests/test_equations.py", "tests/test_ngram.py", "-k", "ngram and perplexity",
                    f"--impl={STUDENTS / 'ngram_perplexity_only.py'}", "-rs")
    assert r.returncode == 0, r.stdout[-3000:]
    assert "passed" in r.stdout and "signature" not in r.stdout and "has no parameter" not in r.stdout


# The course-CI workflow (docs/course-ci/lmverify.yml) is run step by step in tests/test_course_ci.py.


def test_new_example_writes_a_valid_draft_and_a_recipe_skeleton(tmp_path):
    from lmverify.authoring import new_example
    from lmverify.worked import load_example

    yaml_path, recipes = new_example("attention", "my_demo", section="Softmax and Temperature", root=tmp_path)
    draft = load_example(yaml_path, allow_no_claims=True)
    assert draft.id == "attention.my_demo" and draft.page == "attention_math.md" and draft.claims == []
    ns: dict = {}
    exec(compile(recipes.read_text(), str(recipes), "exec"), ns)  # the skeleton is valid Python
    assert ns["my_demo"]({}, None) == {}
    with pytest.raises(ValueError, match="exists already"):
        new_example("attention", "my_demo", root=tmp_path)
    with pytest.raises(ValueError, match="unknown topic"):
        new_example("atention", "x", root=tmp_path)


def test_claims_are_proposed_from_the_page_for_a_draft(tmp_path, course_dir):
    """`lmverify claims`: the numbers printed in the example's section that equal a recipe quantity."""
    from lmverify.authoring import propose_claims
    from lmverify.worked import load_example

    text = (ROOT / "worked_examples/attention/four_tokens.yaml").read_text()
    folder = tmp_path / "attention"
    folder.mkdir()
    (folder / "draft.yaml").write_text(text[: text.index("claims:")] + "claims: []\n")
    claims = propose_claims(load_example(folder / "draft.yaml", allow_no_claims=True), course_dir)
    found = {(c["quantity"], c["claimed"], c["line"]) for c in claims}
    assert ("numerators_row0", "2.718", 166) in found
    # 0.366 is weights[0, 0] and output[0, 0] alike (V = I): equally close, so the author chooses
    from lmverify.authoring import unmatched_numbers

    tied = [ctx for line, text, ctx in unmatched_numbers(load_example(folder / "draft.yaml", allow_no_claims=True),
                                                          course_dir) if (line, text) == (172, "0.366")]
    assert tied and "equally close to weights[0, 0]" in tied[0] and "output[0, 0]" in tied[0]
    assert all(c["verdict"] in ("correct", "rounding") and c["before"] for c in claims)
    assert not any(str(c["claimed"]) in c["before"] for c in claims if "." in str(c["claimed"]))  # never by the number


@pytest.mark.slow
def test_impl_student_function_that_raises_is_reported_with_equation_and_input():
    r = _run_pytest("tests/test_equations.py", "-k", "matches_oracle and softmax_temperature-",
                    f"--impl={STUDENTS / 'raises_on_batches.py'}")
    assert r.returncode == 1, r.stdout[-3000:]
    out = r.stdout
    assert "your softmax raised ValueError: I only wrote it for vectors" in out and "Equation attention.softmax_temperature" in out
    assert "Input (minimal" in out and "z =" in out and "Expected (numpy reference)" in out
    assert "lmverify/backends.py" not in out
