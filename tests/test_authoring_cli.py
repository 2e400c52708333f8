"""Authoring inside a course's own repository: `lmverify new` (where it writes, what it quotes, what it shows),
course examples added to the built-in ones, `lmverify claims` (whole-token contexts, the one closest quantity,
every unmatched number listed), `trace`'s exact form (the author's rationals, a time limit), and the
walk-through of docs/authoring.md: a four-token perplexity example added to a course repository."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from lmverify.authoring import (
    DOCS,
    FILLED_EXAMPLE,
    FILLED_PAGE_BOX,
    FILLED_RECIPE,
    FILLED_YAML,
    _closest,
    as_printed,
    examples_folder,
    new_example,
    whole_token_context,
)
from lmverify.catalogue import PROJECT_ROOT
from lmverify.cli import EXIT_OK, EXIT_USAGE, main
from lmverify.worked import load_all_examples, load_example, with_builtin_examples

ROOT = Path(__file__).resolve().parent.parent
MINI = Path(__file__).parent / "data" / "minicourse"
SIX = ("attention_math.md", "information_theory.md", "language_modeling_basics.md", "neural_language_models.md",
       "sequence_to_sequence.md", "word_embeddings.md")

HOSTILE_SECTIONS = [
    "it's the 'quoted' one",
    'say "hi" and \'bye\'',
    'a """docstring""" breaker',
    r"Worked Example: Four Tokens, \(d_k = 4\)",
    "back\\slash at the end\\",
    "ends with a quote\"",
    "Entropía — H ≈ 0.5 bits ✓ 日本語",
    "two\nlines",
    "# not a comment: {a: [b]} & *alias !tag",
    "",
    "   leading and trailing spaces   ",
    "tab\there and a \r carriage return",
]


def _import(path: Path):
    spec = importlib.util.spec_from_file_location(f"recipes_{abs(hash(str(path)))}_{time.monotonic_ns()}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------- lmverify new


@pytest.mark.parametrize("section", HOSTILE_SECTIONS, ids=range(len(HOSTILE_SECTIONS)))
def test_new_quotes_any_heading_so_yaml_loads_back_and_recipes_still_import(tmp_path, section):
    yaml_path, recipes = new_example("attention", "first", section=section, examples_dir=tmp_path)
    assert yaml.safe_load(yaml_path.read_text(encoding="utf-8"))["section"] == section
    draft = load_example(yaml_path, allow_no_claims=True)
    assert draft.section == section and draft.id == "attention.first" and draft.claims == []
    new_example("attention", "second", section=section + "'\"", examples_dir=tmp_path)  # a second recipe, same file
    mod = _import(recipes)
    assert mod.first({}, None) == {} and mod.second({}, None) == {}
    assert repr(section) in mod.first.__doc__


def test_new_writes_where_the_author_says_never_into_this_project_from_elsewhere(tmp_path, capsys, monkeypatch):
    before = sorted(p.name for p in (PROJECT_ROOT / "worked_examples" / "attention").iterdir())
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    with pytest.raises(SystemExit) as exc:
        main(["new", "attention", "demo", "--section", "S"])
    assert exc.value.code == EXIT_USAGE
    assert "give --examples-dir DIR" in capsys.readouterr().err
    assert main(["new", "attention", "demo", "--section", "S", "-o", str(tmp_path / "mine")]) == EXIT_OK
    assert (tmp_path / "mine" / "attention" / "demo.yaml").is_file()
    # a course repository: mkdocs.yml names the examples folder in the lmverify plugin's options
    repo = tmp_path / "course"
    (repo / "docs" / "01_foundations").mkdir(parents=True)
    (repo / "mkdocs.yml").write_text("site_name: c\nplugins:\n  - search\n  - lmverify:\n      examples_dir: checks/examples\n"
                                     "markdown_extensions:\n  - pymdownx.emoji:\n"
                                     "      emoji_index: !!python/name:material.extensions.emoji.twemoji\n")
    monkeypatch.chdir(repo / "docs" / "01_foundations")
    assert examples_folder() == repo / "checks" / "examples"
    capsys.readouterr()
    assert main(["new", "ngram", "four_token_perplexity", "--section", "Worked Example: Four-Token Perplexity"]) == EXIT_OK
    err = capsys.readouterr().err
    assert (repo / "checks" / "examples" / "ngram" / "four_token_perplexity.yaml").is_file()
    assert str(DOCS) in err and DOCS.is_file() and FILLED_EXAMPLE in err  # the guide's path and a filled example
    monkeypatch.chdir(ROOT)
    assert examples_folder() == PROJECT_ROOT / "worked_examples"  # inside this project: its own folder, as before
    assert sorted(p.name for p in (PROJECT_ROOT / "worked_examples" / "attention").iterdir()) == before


def test_new_names_bad_names_topics_and_an_unwritable_folder(tmp_path):
    from lmverify.exitcodes import OutputError

    with pytest.raises(ValueError, match="must be a Python identifier"):
        new_example("attention", "Bad-Name", examples_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown topic 'atention'"):
        new_example("atention", "x", examples_dir=tmp_path)
    yaml_path, _ = new_example("mytopic", "x", page="my_page.md", examples_dir=tmp_path)  # a course's own topic
    assert load_example(yaml_path, allow_no_claims=True).page == "my_page.md"
    with pytest.raises(ValueError, match="exists already"):
        new_example("mytopic", "x", page="my_page.md", examples_dir=tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="cannot make the folder"):
        new_example("attention", "y", examples_dir=blocker)


def test_filled_example_is_valid_yaml_and_python():
    data = yaml.safe_load(FILLED_YAML)
    assert data["recipe"] == "four_token_perplexity" and data["section"] in FILLED_PAGE_BOX
    compile(FILLED_RECIPE, "recipes.py", "exec")


# ---------------------------------------------------------------- examples added, not replacing


def test_course_examples_are_added_to_the_built_in_ones_and_override_the_same_id(tmp_path):
    builtin = load_all_examples()
    mine = tmp_path / "examples" / "attention"
    mine.mkdir(parents=True)
    src = ROOT / "worked_examples" / "attention" / "four_tokens.yaml"
    (mine / "four_tokens.yaml").write_text(re.sub(r"^title:.*$", 'title: "COURSE COPY"', src.read_text(encoding="utf-8"),
                                                  count=1, flags=re.M), encoding="utf-8")
    shutil.copy(ROOT / "worked_examples" / "attention" / "recipes.py", mine / "recipes.py")
    merged, left_out = with_builtin_examples(tmp_path / "examples")
    ids = [e.id for e in merged]
    assert len(ids) == len(set(ids)) == len(builtin) and not left_out
    four = next(e for e in merged if e.id == "attention.four_token_example")
    assert four.path.is_relative_to(tmp_path) and four.title.startswith("COURSE COPY")
    mini, left_out = with_builtin_examples(MINI / "examples", pages={"coins.md", "weights.md"})
    assert {e.page for e in mini} <= {"coins.md", "weights.md"} and len(left_out) == len(builtin)


# ---------------------------------------------------------------- claims


def test_a_number_goes_to_the_one_quantity_it_is_the_closest_rounding_of():
    from lmverify.printed import parse_printed

    p = parse_printed("0.37", "t")
    best, tied = _closest(p, [("a", None, 0.366), ("b", None, 0.3704), ("c", None, 0.41)])
    assert best[:2] == ("b", None) and best[3] == "correct" and not tied
    best, tied = _closest(p, [("a", None, 0.3704), ("b", [1], 0.3704)])
    assert best is None and tied == ["a", "b[1]"]  # equally close: not attached, the author chooses
    best, _ = _closest(parse_printed("0.38", "t"), [("a", None, 0.3704), ("b", None, 0.5)])
    assert best[0] == "a" and best[3] == "rounding"
    assert _closest(parse_printed("4.93", "t"), [("a", None, 2.996)]) == (None, [])


def test_contexts_are_widened_to_whole_tokens():
    r = r"Term:\approx#\text{bits}"
    slot = r.index("#")
    assert whole_token_context(r, slot, "prox", "") == (r"\approx", "")
    assert whole_token_context(r, slot, r"m:\approx", r"\te") == (r"Term:\approx", r"\text")
    assert whole_token_context(r, slot, r":\approx", r"\text{bi") == (r":\approx", r"\text{bits")


def _draft(tmp_path: Path, src: Path) -> Path:
    folder = tmp_path / "drafts" / src.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    text = src.read_text(encoding="utf-8")
    (folder / src.name).write_text(text[: text.index("claims:")] + "claims: []\n", encoding="utf-8")
    shutil.copy(src.parent / "recipes.py", folder / "recipes.py")
    return folder / src.name


def test_claims_are_whole_tokens_attached_once_and_every_other_number_is_listed(tmp_path, course_dir):
    from lmverify.authoring import _proposals
    from lmverify.course.course import Course

    pages = tmp_path / "pages"
    shutil.copytree(course_dir, pages, ignore=shutil.ignore_patterns("*.txt", "LICENSE"))
    page = pages / "language_modeling_basics.md"
    text = page.read_text(encoding="utf-8")
    assert text.count("(-2.996)") == 1
    page.write_text(text.replace("(-2.996)", "(-4.93)"), encoding="utf-8")  # a slipped number
    draft = load_example(_draft(tmp_path, ROOT / "worked_examples" / "ngram" / "five_token_perplexity.yaml"),
                         allow_no_claims=True)
    course = Course(pages)
    claims, unmatched = _proposals(draft, course)
    assert any(t == "-4.93" for _, t, _ in unmatched), unmatched  # listed, with its line
    slipped = next(line for line, t, _ in unmatched if t == "-4.93")
    assert "-4.93" in course.lines("language_modeling_basics.md")[slipped - 1]
    assert not any(c["claimed"] == "-4.93" for c in claims)
    model = course.page("language_modeling_basics.md")
    from lmverify.authoring import _TOKEN

    for c in claims:
        for n in model.numbers_in(c["line"], c["line"]):
            r = model.blocks[n.block].reading
            if r[:n.offset].endswith(c["before"]) and r.startswith(c.get("after", ""), n.offset + 1):
                starts = {m.start() for m in _TOKEN.finditer(r)}
                ends = {m.end() for m in _TOKEN.finditer(r)}
                assert n.offset - len(c["before"]) in starts
                assert not c.get("after") or n.offset + 1 + len(c["after"]) in ends
                break
        else:
            raise AssertionError(f"the proposed context of {c} is not on its line")
    recorded = {(c.line, c.quantity, tuple(c.index) if c.index else None)
                for c in load_example(ROOT / "worked_examples/ngram/five_token_perplexity.yaml").claims}
    proposed = {(c["line"], c["quantity"], tuple(c["index"]) if "index" in c else None) for c in claims}
    assert proposed <= recorded | {(c, q, i) for c, q, i in proposed if q.startswith("input.")}, proposed - recorded
    # every value number of the box is proposed or listed, none silently dropped
    first, last = min(c["line"] for c in claims), max(c["line"] for c in claims)
    shown = {(c["line"], str(c["claimed"])) for c in claims} | {(line, t) for line, t, _ in unmatched}
    for n in model.numbers_in(first, last):
        if not n.index:
            assert (n.line, n.text) in shown or (n.line, n.text.replace("{,}", ",")) in shown, (n.line, n.text)


# ---------------------------------------------------------------- trace


def test_trace_keeps_the_authors_rationals_and_finishes_in_seconds(capsys):
    start = time.monotonic()
    assert main(["trace", str(ROOT / "worked_examples/information/coins.yaml")]) == EXIT_OK
    elapsed = time.monotonic() - start
    out = capsys.readouterr().out
    exact = out.split("## Exact (SymPy)")[1].split("## Rounded")[0]
    assert "biased_neg_p_H = -9/10" in exact and "log(9/10)" in exact and "biased_neg_p_T = -1/10" in exact
    assert not re.search(r"\d{12,}", exact), exact  # no 53-bit binary fractions
    from lmverify.trace import SIMPLIFY_SECONDS, TRACE_SIMPLIFY_SECONDS

    assert elapsed < 60 + TRACE_SIMPLIFY_SECONDS and SIMPLIFY_SECONDS <= TRACE_SIMPLIFY_SECONDS


def test_a_simplification_past_its_time_limit_falls_back_with_a_note():
    import sympy as sp

    from lmverify.trace import AuthoredSympy, Budget

    hard = -sp.Rational(8106479329266893, 2**53) * sp.log(sp.Rational(8106479329266893, 2**53)) / sp.log(2) \
        - sp.Rational(900719925474099, 2**53) * sp.log(sp.Rational(900719925474099, 2**53)) / sp.log(2)
    budget = Budget(0.2, 1.0)
    start = time.monotonic()
    shown, note = budget.simplified(hard)
    assert time.monotonic() - start < 5
    assert "did not finish in 0.2 s" in note and shown == str(hard)
    budget.left = 0
    assert "used up" in budget.simplified(sp.log(4) / sp.log(2))[1]
    b = AuthoredSympy({"p": [0.9, 0.1]})
    assert b.const(0.9) == sp.Rational(9, 10) and b.const(1.0 - 0.9) == sp.Rational(0.09999999999999998)
    assert list(b.array(np.array([0.25, 0.1]))) == [sp.Rational(1, 4), sp.Rational(1, 10)]


def test_as_printed_rounds_as_the_judge_does():
    from lmverify.backends import Backend

    assert as_printed(Backend("numpy"), 2.9847458960098225, 2) == 2.98
    assert list(as_printed(None, [0.1235, 2.5, 0.0625], 3)) == [0.123, 2.5, 0.062]  # binary 0.1235 is below; half to even
    with pytest.raises(ValueError, match="not finite"):
        as_printed(None, [np.nan], 2)
    with pytest.raises(ValueError, match="places"):
        as_printed(None, 1.0, -1)


# ---------------------------------------------------------------- the walk-through of docs/authoring.md


def test_walkthrough_a_four_token_perplexity_example_in_a_course_repository(tmp_path, course_dir, capsys, monkeypatch):
    """docs/authoring.md, "Adding an example to your course": the steps, as an author runs them."""
    repo = tmp_path / "course"
    pages = repo / "docs" / "01_foundations"
    pages.mkdir(parents=True)
    for name in SIX:
        shutil.copy(course_dir / name, pages / name)
    (repo / "mkdocs.yml").write_text("site_name: c\nplugins:\n  - lmverify:\n      examples_dir: lmverify-examples\n")
    monkeypatch.chdir(repo)
    assert main(["report", "--course", "docs", "--no-code", "--write-baseline", "baseline.json"]) == EXIT_OK
    lmb = pages / "language_modeling_basics.md"
    lmb.write_text(lmb.read_text(encoding="utf-8") + "\n" + FILLED_PAGE_BOX, encoding="utf-8")
    # 1. the skeleton
    assert main(["new", "ngram", "four_token_perplexity", "--section", "Worked Example: Four-Token Perplexity"]) == EXIT_OK
    folder = repo / "lmverify-examples" / "ngram"
    # 2. inputs and the recipe, as in the filled example
    draft = (folder / "four_token_perplexity.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(FILLED_YAML)
    draft = draft.replace("inputs: {}", "inputs: " + yaml.safe_dump(data["inputs"], default_flow_style=True).strip())
    (folder / "four_token_perplexity.yaml").write_text(draft, encoding="utf-8")
    recipes = (folder / "recipes.py").read_text(encoding="utf-8")
    recipes = recipes[: recipes.index("def four_token_perplexity")] + FILLED_RECIPE
    (folder / "recipes.py").write_text(recipes, encoding="utf-8")
    # 3. the trace: exact forms from the author's decimals
    capsys.readouterr()
    assert main(["trace", str(folder / "four_token_perplexity.yaml")]) == EXIT_OK
    assert "log_sum = log(63/5000)" in capsys.readouterr().out
    # 4. the claims the page supports
    assert main(["claims", str(folder / "four_token_perplexity.yaml"), "--course", "docs"]) == EXIT_OK
    out, err = capsys.readouterr()
    proposed = yaml.safe_load(out)["claims"]
    assert {c["quantity"] for c in proposed} >= {"log_sum", "mean_nll", "perplexity_of_printed_nll"}
    zeros_three = [c["index"] for c in proposed if c["claimed"] == "0.3"]
    assert zeros_three == [[1], [2]]  # equal elements of one input, in the order the page prints them
    assert "line 371: 1 " in err and "line 371: 4 " in err  # the 1 and 4 of \frac{1}{4}: listed, not claimed
    # 5. the filled file judged in the course's report, the built-in examples judged beside it
    (folder / "four_token_perplexity.yaml").write_text(FILLED_YAML, encoding="utf-8")
    assert main(["report", "--course", "docs", "--examples-dir", "lmverify-examples", "--no-code",
                 "--baseline", "baseline.json", "--fail-on", "any"]) == EXIT_OK
    out, err = capsys.readouterr()
    section = re.split(r"\n#{2,3} ", out.split("### ngram.four_token_perplexity")[1])[0]
    assert section.count("**correct**") == 3 and section.count("**carried**") == 1 and "missing" not in section
    assert "fixed since the baseline" not in err  # the built-in examples are still judged
    assert "### attention.four_token_example" in out
    row = next(line for line in out.splitlines() if line.startswith("| language_modeling_basics.md |") and " of " in line)
    assert "371: " in row and "\\frac{[1]}" in row  # the 1 and 4 of \frac{1}{4}: not accounted for yet
    # 6. declare them unjudged, in the course's own unjudged.yaml (the built-in records still count)
    (folder / "unjudged.yaml").write_text(
        "page: language_modeling_basics.md\nnumbers:\n  - {scope: \"Worked Example: Four-Token Perplexity\", "
        "before: 'H=-\\frac{', count: 2, reason: \"the 1/T of the mean: a formula constant\"}\n", encoding="utf-8")
    assert main(["report", "--course", "docs", "--examples-dir", "lmverify-examples", "--no-code"]) == EXIT_OK
    out = capsys.readouterr().out
    rows = [line for line in out.split("## Printed numbers accounted for")[1].split("\n## ")[0].splitlines()
            if line.startswith("| ") and ".md |" in line]
    assert len(rows) == len(SIX) and all(line.endswith("| - |") for line in rows), rows


def test_trace_past_the_time_limit_prints_the_numeric_value_with_a_note(monkeypatch):
    from lmverify import trace as trace_mod

    monkeypatch.setattr(trace_mod, "SIMPLIFY_SECONDS", 1e-4)
    out = trace_mod.trace(load_example(ROOT / "worked_examples/information/coins.yaml"))
    exact = out.split("## Exact (SymPy)")[1].split("## Rounded")[0]
    numeric = float(out.split("biased_entropy_bits = ")[1].split("\n")[0])  # the full-precision line
    assert f"biased_entropy_bits = ~ {numeric!r}" in exact
    assert "biased_entropy_bits: sp.simplify did not finish" in exact and "the numeric value is shown" in exact


def test_the_built_in_examples_pages_are_the_catalogues():
    """`--course` looks for the catalogue's pages (report.locate_course): the built-in examples' pages must be
    among them, or a course laid out in subfolders would be searched for the wrong pages."""
    from lmverify.catalogue import load

    assert {e.page for e in load_all_examples()} <= {eq["page"] for eq in load()}
