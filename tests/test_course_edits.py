"""What the report says about each kind of edit an author makes to a page, on copies of the mini-course.

The pages are tests/data/minicourse/pages (coins.md, weights.md: the planted mini-course of
tests/test_minicourse.py) and tests/data/minicourse/extra/pages/scores.md (a worked example with matrices,
a vector, a number read by two claims, inputs read from the page and a context written with curly quotes;
all correct). The biased coin's record gets a ``read:`` here, so its inputs come from its page. Each test
copies the pages into tmp_path, applies its edit, builds the report in-process and checks what a careful
reviewer would expect of it:

changed input (recomputed claims), changed result (an error with the right value, on its line), changed
matrix or vector cell (only that cell), a number changed to equal its neighbour (judged at its own slot),
moved box, renamed box or heading (a small rename still located; a context really gone is ``missing``,
never correct; a renamed box never borrows a look-alike box's numbers), a box deleted, a 15-line tip box
inserted at the top (only line numbers change), a fixed erratum (correct, out of the errata, reported fixed
against a baseline), a new example box with no record (its numbers unaccounted, with their lines), and the
formatting-only rewrite of the real revision 7ce1f9e (doubled math backslashes, straight quotes, an
equation-breakdown block and a tip box: nothing judged differently).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from lmverify import report
from lmverify.worked import load_all_examples

MINI = Path(__file__).parent / "data" / "minicourse"
PAGES, EXAMPLES, EQUATIONS = MINI / "pages", MINI / "examples", MINI / "equations.yaml"
EXTRA_PAGES, EXTRA_EXAMPLES = MINI / "extra" / "pages", MINI / "extra" / "examples"
ALL_PAGES = ("coins.md", "weights.md", "scores.md")
#: the biased coin's inputs (0.8 and 0.2), read from its page
COIN_READ = "read: {p: ['headswithprobability', 'andtailswith']}\n"

COIN = "minicourse.biased_coin"
KEYS = "minicourse.two_keys"


# ---------------------------------------------------------------- copies, edits, builds


def _examples(tmp_path: Path, yaml_edits=()) -> list:
    """The mini-course's examples (the biased coin reading its inputs from the page) and the extra page's;
    ``yaml_edits``: (file, old, new) applied to the copies of the mini-course's records."""
    d = tmp_path / "examples"
    if not d.exists():
        shutil.copytree(EXAMPLES, d)
        coin = d / "minicourse" / "biased_coin.yaml"
        coin.write_text(coin.read_text(encoding="utf-8") + COIN_READ, encoding="utf-8")
    for name, old, new in yaml_edits:
        path = d / "minicourse" / name
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, (name, old)
        path.write_text(text.replace(old, new), encoding="utf-8")
    return load_all_examples(d) + load_all_examples(EXTRA_EXAMPLES)


def _course(tmp_path: Path, edits=(), name: str = "pages", transform=None) -> Path:
    """A copy of the three pages with ``edits`` ((page, old, new), each applying exactly once) and then
    ``transform`` (page text -> page text) applied."""
    course = tmp_path / name
    course.mkdir(parents=True)
    for folder in (PAGES, EXTRA_PAGES):
        for p in folder.glob("*.md"):
            shutil.copy(p, course / p.name)
    for page, old, new in edits:
        text = (course / page).read_text(encoding="utf-8")
        assert text.count(old) == 1, (page, old)
        (course / page).write_text(text.replace(old, new), encoding="utf-8")
    if transform is not None:
        for page in ALL_PAGES:
            (course / page).write_text(transform((course / page).read_text(encoding="utf-8")), encoding="utf-8")
    return course


def _build(course: Path, examples) -> report.Reports:
    return report.build(course, examples=examples, equations=report.load_equations(EQUATIONS))


def _rep(reps, example_id: str):
    return next(r for r in reps if r.example.id == example_id)


def _claims(reps) -> dict[tuple[str, str], tuple[str, int | None, str]]:
    """(example, claim) -> (verdict, page line, the correct value shown)."""
    return {(rep.example.id, r.claim.label): (r.verdict, rep.page_lines.get(i), r.correct_text)
            for rep in reps for i, r in enumerate(rep.results)}


def _errata(reps, lines: bool = True) -> set[tuple]:
    return {((e.page, e.line) if lines else (e.page,)) + (e.example, e.what, e.claimed, e.correct, e.kind)
            for e in report.errata(reps)}


def _line_of(course: Path, page: str, needle: str) -> int:
    lines = (course / page).read_text(encoding="utf-8").split("\n")
    hits = [k for k, ln in enumerate(lines, 1) if needle in ln]
    assert len(hits) == 1, (page, needle, hits)
    return hits[0]


def _line_holds(course: Path, page: str, line: int, text: str) -> bool:
    return text in (course / page).read_text(encoding="utf-8").split("\n")[line - 1]


def _first(claimed: str) -> str:
    """The first number (or member) of an erratum's claimed text, as the page prints it."""
    return claimed.split(",")[0].strip("[ ")


def _diff(base, new) -> tuple[set, set, dict]:
    """(errata rows added, rows gone, claims whose verdict, line or correct value changed: old -> new)."""
    a, b = _claims(base), _claims(new)
    return _errata(new) - _errata(base), _errata(base) - _errata(new), \
        {k: (a[k], b[k]) for k in a if a[k] != b[k]}


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """The three pages unedited: (course, examples, reports)."""
    tmp = tmp_path_factory.mktemp("edits_base")
    examples = _examples(tmp)
    course = _course(tmp)
    return course, examples, _build(course, examples)


# ---------------------------------------------------------------- the unedited pages


def test_unedited_pages_read_every_claim_and_input_where_the_records_say(base):
    course, _, reps = base
    claims = _claims(reps)
    assert claims[(COIN, "heads term")] == ("correct", 16, "0.258")
    assert claims[(COIN, "H in bits")] == ("error", 18, "0.722")
    assert claims[("minicourse.four_logits", "sum of the numerators")][:2] == ("carried", 14)
    assert {k: v[:2] for k, v in claims.items() if k[0] == KEYS} == {
        (KEYS, "d_k under the root"): ("correct", 17), (KEYS, "sqrt(d_k)"): ("correct", 17), (KEYS, "Z"): ("correct", 21),
        (KEYS, "row 1 of Z"): ("correct", 22), (KEYS, "weights of query 0"): ("correct", 27),
        (KEYS, "largest score of query 1"): ("correct", 27)}
    assert _rep(reps, KEYS).cell_lines[2] == [21, 22, 23]
    coin = _rep(reps, COIN)
    assert [n.text for n in coin.located[("input", "p")]] == ["0.8", "0.2"] and not coin.input_changes
    assert {k[1] for k in _rep(reps, KEYS).located if isinstance(k, tuple)} == {"d_k", "Q", "K"}
    assert not any(r.input_changes or r.input_problems or r.page_problems or r.mismatches for r in reps)
    assert {(a.page, a.accounted, len(a.counted)) for a in reps.accounts if a.page == "scores.md"} == {("scores.md", 22, 22)}


# ---------------------------------------------------------------- changed input


def test_changed_input_is_reported_and_every_claim_on_it_rejudged_with_the_recomputed_value(base, tmp_path):
    _, examples, before = base
    course = _course(tmp_path, [("coins.md", "heads with probability 0.8 and tails with 0.2",
                                 "heads with probability 0.7 and tails with 0.3")])
    reps = _build(course, examples)
    coin = _rep(reps, COIN)
    assert [(c.name, c.recorded, c.page, c.line) for c in coin.input_changes] == [("p", [0.8, 0.2], [0.7, 0.3], 15)]
    assert "input changed: p from [0.8, 0.2] to [0.7, 0.3] (line 15)" in report.markdown(reps)
    # -0.7 log2 0.7 = 0.3602, -0.3 log2 0.3 = 0.5211, H = 0.8813: the page's terms are now wrong
    assert {r.claim.label: (r.verdict, r.correct_text, round(float(r.computed), 4)) for r in coin.results} == {
        "heads term": ("error", "0.360", 0.3602), "tails term": ("error", "0.521", 0.5211),
        "H in bits": ("error", "0.881", 0.8813)}
    added, gone, changed = _diff(before, reps)
    assert added == {("coins.md", 16, COIN, "heads term", "0.258", "0.360", "error"),
                     ("coins.md", 17, COIN, "tails term", "0.464", "0.521", "error"),
                     ("coins.md", 18, COIN, "H in bits", "0.822", "0.881", "error")}
    assert gone == {("coins.md", 18, COIN, "H in bits", "0.822", "0.722", "error")}
    assert {k[0] for k in changed} == {COIN}  # no other example moves


#: the coin's input changed and every number of its box written anew from it
WRITTEN_THROUGH = [
    ("coins.md", "heads with probability 0.8 and tails with 0.2", "heads with probability 0.7 and tails with 0.3"),
    ("coins.md", r"\(-0.8 \log_2 0.8 \approx 0.258\)", r"\(-0.7 \log_2 0.7 \approx 0.360\)"),
    ("coins.md", r"\(-0.2 \log_2 0.2 \approx 0.464\)", r"\(-0.3 \log_2 0.3 \approx 0.521\)"),
    ("coins.md", r"\(H \approx 0.822\)", r"\(H \approx 0.881\)")]


def test_changed_input_written_through_the_whole_example_is_all_correct(base, tmp_path):
    _, examples, _ = base
    course = _course(tmp_path, WRITTEN_THROUGH)
    reps = _build(course, examples)
    coin = _rep(reps, COIN)
    assert [c.name for c in coin.input_changes] == ["p"]
    assert [(r.verdict, coin.page_lines[i]) for i, r in enumerate(coin.results)] == [("correct", 16), ("correct", 17),
                                                                                     ("correct", 18)]
    assert coin.page_numbers == {0: "0.360", 1: "0.521", 2: "0.881"}
    assert not [e for e in report.errata(reps) if e.example == COIN]


def test_changed_input_written_through_names_only_the_recorded_erratum_fixed(base, tmp_path):
    _, examples, _ = base
    course = _course(tmp_path, WRITTEN_THROUGH)
    text = report.markdown(_build(course, examples))
    fixed = [ln for ln in text.splitlines() if ln.endswith("the erratum is fixed")]
    assert fixed == ["- the page now prints 0.881 (recorded '0.822' as error); judged: **correct** - the erratum is fixed"]


def test_changed_matrix_input_cell_rejudges_only_the_cells_that_depend_on_it(base, tmp_path):
    _, examples, before = base
    course = _course(tmp_path, [("scores.md", r"K = \begin{bmatrix} 2 & 0 \\ 1 & 1 \end{bmatrix}",
                                 r"K = \begin{bmatrix} 2 & 0 \\ 1 & 3 \end{bmatrix}")])
    reps = _build(course, examples)
    keys = _rep(reps, KEYS)
    assert [(c.name, c.recorded, c.page, c.line) for c in keys.input_changes] == [
        ("K", [[2, 0], [1, 1]], [[2.0, 0.0], [1.0, 3.0]], 16)]
    # k_1 = (1, 3): q_1 . k_1 = 7, q_2 . k_1 = 4; over sqrt 2: 4.950 and 2.828; query 0's scores do not move
    added, gone, changed = _diff(before, reps)
    assert added == {("scores.md", 22, KEYS, "Z[1, 1]", "2.121", "4.950", "error"),
                     ("scores.md", 23, KEYS, "Z[2, 1]", "1.414", "2.828", "error"),
                     ("scores.md", 22, KEYS, "row 1 of Z[1]", "2.121", "4.950", "error"),
                     ("scores.md", 27, KEYS, "largest score of query 1", "2.121", "4.950", "error")}
    assert not gone
    assert set(changed) == {(KEYS, "Z"), (KEYS, "row 1 of Z"), (KEYS, "largest score of query 1")}


def test_input_changed_so_that_the_recipe_refuses_it_is_reported_not_raised(base, tmp_path):
    _, examples, before = base
    course = _course(tmp_path, [("coins.md", "heads with probability 0.8", "heads with probability 0.7")])
    reps = _build(course, examples)
    coin = _rep(reps, COIN)
    assert [(c.name, c.page) for c in coin.input_changes] == [("p", [0.7, 0.2])]
    assert all(r.verdict != "correct" for r in coin.results)
    assert {k: v for k, v in _claims(reps).items() if k[0] != COIN} == \
        {k: v for k, v in _claims(before).items() if k[0] != COIN}


# ---------------------------------------------------------------- changed results and cells


def test_changed_result_is_an_error_with_the_right_value_on_its_line(base, tmp_path):
    _, examples, before = base
    course = _course(tmp_path, [("coins.md", r"0.8 \approx 0.258\)", r"0.8 \approx 0.358\)")])
    reps = _build(course, examples)
    added, gone, changed = _diff(before, reps)
    assert added == {("coins.md", 16, COIN, "heads term", "0.358", "0.258", "error")} and not gone
    assert changed == {(COIN, "heads term"): (("correct", 16, "0.258"), ("error", 16, "0.258"))}
    assert _rep(reps, COIN).page_numbers == {0: "0.358"}
    assert "the page now prints 0.358 (recorded '0.258' as correct); judged: **error**" in report.markdown(reps)


def test_changed_matrix_cell_is_the_only_erratum(base, tmp_path):
    _, examples, before = base
    course = _course(tmp_path, [("scores.md", "    1.414 & 1.414\n", "    1.414 & 1.732\n")])
    added, gone, changed = _diff(before, _build(course, examples))
    assert added == {("scores.md", 23, KEYS, "Z[2, 1]", "1.732", "1.414", "error")} and not gone
    assert set(changed) == {(KEYS, "Z")}


def test_changed_vector_cell_is_the_only_erratum(base, tmp_path):
    _, examples, before = base
    # the smoothed target under the page's own rule, then one cell of it wrong
    course = _course(tmp_path, [("coins.md", "(0.85, 0.05, 0.05, 0.05)", "(0.80, 0.07, 0.17, 0.07)"),
                                ("scores.md", "(0.670, 0.330)", "(0.670, 0.380)")])
    reps = _build(course, examples)
    rows = {r for r in _errata(reps) if r[2] in ("minicourse.four_classes", KEYS)}
    assert rows == {("coins.md", 31, "minicourse.four_classes", "smoothed target[2]", "0.17", "0.07", "error"),
                    ("scores.md", 27, KEYS, "weights of query 0[1]", "0.380", "0.330", "error")}


@pytest.mark.parametrize("edit, added", [
    # w_2 printed as w_0's value, on the same line
    (("weights.md", r"w_2 \approx 0.134", r"w_2 \approx 0.366"),
     {("weights.md", 15, "minicourse.four_logits", "w_2", "0.366", "0.134", "error")}),
    # the tails term printed as the heads term of the line above
    (("coins.md", r"0.2 \approx 0.464", r"0.2 \approx 0.258"),
     {("coins.md", 17, COIN, "tails term", "0.258", "0.464", "error")}),
    # a matrix cell printed as its left neighbour
    (("scores.md", "    1.414 & 0.707 \\\\\n", "    1.414 & 1.414 \\\\\n"),
     {("scores.md", 21, KEYS, "Z[0, 1]", "1.414", "0.707", "error")}),
    # a cell read by two claims (Z and its row 1), printed as its right neighbour: both flip
    (("scores.md", "    1.414 & 2.121 \\\\\n", "    2.121 & 2.121 \\\\\n"),
     {("scores.md", 22, KEYS, "Z[1, 0]", "2.121", "1.414", "error"),
      ("scores.md", 22, KEYS, "row 1 of Z[0]", "2.121", "1.414", "error")}),
    # the number after "largest score" printed as the scale printed above it
    (("scores.md", r"of the second query is \(2.121\)", r"of the second query is \(1.414\)"),
     {("scores.md", 27, KEYS, "largest score of query 1", "1.414", "2.121", "error")}),
    # a vector's second cell printed as its first
    (("scores.md", "(0.670, 0.330)", "(0.670, 0.670)"),
     {("scores.md", 27, KEYS, "weights of query 0[1]", "0.670", "0.330", "error")}),
], ids=["w2-as-w0", "tails-as-heads", "cell-as-left", "cell-of-two-claims", "largest-as-scale", "vector-cell"])
def test_number_changed_to_equal_its_neighbour_is_judged_at_its_own_slot(base, tmp_path, edit, added):
    _, examples, before = base
    reps = _build(_course(tmp_path, [edit]), examples)
    new, gone, changed = _diff(before, reps)
    assert new == added and not gone
    # every other claim reads the same numbers on the same lines, with the same verdicts
    flipped = {(r[2], re.sub(r"\[[\d, ]+\]$", "", r[3])) for r in added}
    assert set(changed) == flipped
    for rep0 in before:
        rep1 = _rep(reps, rep0.example.id)
        for i, nums in rep0.located.items():
            assert [(n.line, n.ordinal) for n in rep1.located[i]] == [(n.line, n.ordinal) for n in nums], (rep0.example.id, i)


# ---------------------------------------------------------------- moved, renamed, deleted


_COIN_BOX = ('!!! example "Worked Example: A Biased Coin"\n'
             "    Let the coin land heads with probability 0.8 and tails with 0.2.\n"
             r"    Heads contributes \(-0.8 \log_2 0.8 \approx 0.258\) bits." "\n"
             r"    Tails contributes \(-0.2 \log_2 0.2 \approx 0.464\) bits." "\n"
             r"    Adding the two terms, \(H \approx 0.822\) bits." "\n\n")
_AFTER_CLASSES = "(0.85, 0.05, 0.05, 0.05)\\).\n\n"
_SCORES_BOX_START = '!!! example "Worked Example: Three Queries, Two Keys, \\(d_k = 2\\)"\n'


def _move_boxes(text: str) -> str:
    """coins.md: the biased coin's box moved below the four classes' (another section); scores.md: its box
    moved from its section to the end of the page (the next section)."""
    if _COIN_BOX in text:
        text = text.replace(_COIN_BOX, "")
        return text.replace(_AFTER_CLASSES, _AFTER_CLASSES + _COIN_BOX)
    if _SCORES_BOX_START in text:
        start = text.index(_SCORES_BOX_START)
        end = text.index("## Reading the Scores")
        box = text[start:end]
        return text[:start] + text[end:].rstrip("\n") + "\n\n" + box.rstrip("\n") + "\n"
    return text


def test_moved_box_keeps_every_claim_located_and_judged_as_before(base, tmp_path):
    _, examples, before = base
    course = _course(tmp_path, transform=_move_boxes)
    heads = _line_of(course, "coins.md", "Heads contributes")
    assert heads > _line_of(course, "coins.md", "## Smoothed Targets")  # it moved (from line 16)
    assert _line_of(course, "scores.md", "largest score") > _line_of(course, "scores.md", "## Reading the Scores")
    reps = _build(course, examples)
    a, b = _claims(before), _claims(reps)
    assert {k: (v[0], v[2]) for k, v in a.items()} == {k: (v[0], v[2]) for k, v in b.items()}
    assert _errata(before, lines=False) == _errata(reps, lines=False)
    # each erratum and each claim now on the line where its number is printed
    for e in report.errata(reps):
        assert _line_holds(course, e.page, e.line, _first(e.claimed)), e
    coin, keys = _rep(reps, COIN), _rep(reps, KEYS)
    assert [coin.page_lines[i] for i in range(3)] == [heads, heads + 1, heads + 2]
    assert keys.page_lines[5] == _line_of(course, "scores.md", "largest score")
    assert keys.cell_lines[2] == [_line_of(course, "scores.md", "1.414 & 0.707"), _line_of(course, "scores.md", "1.414 & 2.121"),
                                  _line_of(course, "scores.md", "1.414 & 1.414")]
    assert not any(r.input_changes or r.page_problems for r in reps)


@pytest.mark.parametrize("edits", [
    [("coins.md", "Worked Example: A Biased Coin", "Worked Example: The Biased Coin"),
     ("scores.md", "Worked Example: Three Queries, Two Keys", "Worked Example: Three Queries and Two Keys")],
    # renamed past recognition: the contexts alone, unique on the page, still find the numbers
    [("coins.md", "Worked Example: A Biased Coin", "Example 1"), ("scores.md", "Worked Example: Three Queries, Two Keys",
                                                                  "Matrices")],
], ids=["small-rename", "past-recognition-unique-contexts"])
def test_renamed_box_title_still_located_and_judged_as_before(base, tmp_path, edits):
    _, examples, before = base
    reps = _build(_course(tmp_path, edits), examples)
    assert _claims(reps) == _claims(before) and _errata(reps) == _errata(before)
    assert not any(r.input_changes or r.input_problems or r.page_problems for r in reps)


def test_renamed_heading_small_rename_still_located(tmp_path):
    # the rare token's claim scoped by its section's heading instead of its box
    examples = _examples(tmp_path, [("rare_token.yaml", 'section: "Worked Example: A Rare Token"',
                                     'section: "Loss of One Token"')])
    before = _build(_course(tmp_path, name="before"), examples)
    after = _build(_course(tmp_path, [("coins.md", "## Loss of One Token", "## Loss of a Token")], name="after"),
                   examples)
    assert _claims(before)[("minicourse.rare_token", "-ln 0.1")] == ("rounding", 23, "2.303")
    assert _claims(after) == _claims(before) and _errata(after) == _errata(before)


@pytest.mark.parametrize("edits", [
    [("coins.md", "Heads contributes", "The heads outcome adds")],
    [("coins.md", "Heads contributes", "The heads outcome adds"), ("coins.md", "Worked Example: A Biased Coin", "Example 1")],
], ids=["context-reworded", "context-reworded-and-title-renamed"])
def test_context_really_gone_is_missing_never_correct(base, tmp_path, edits):
    _, examples, before = base
    reps = _build(_course(tmp_path, edits), examples)
    coin = _rep(reps, COIN)
    assert coin.results[0].verdict == "missing" and coin.page_lines[0] is None
    assert "not found" in coin.page_problems[0]
    assert [r.verdict for r in coin.results[1:]] == ["correct", "error"]  # the rest of the box is still read
    assert not [e for e in report.errata(reps) if e.what == "heads term"]
    assert [(e.what, e.kind) for e in report.missing_claims(reps)] == [("heads term", "missing")]
    row = next(ln for ln in report.markdown(reps).splitlines() if ln.startswith("| heads term |"))
    assert row.startswith("| heads term | (missing) |") and row.endswith("| **missing** |")
    new, _ = report.gate(reps, {"missing"})
    assert [(e.what, e.kind) for e in new] == [("heads term", "missing")]
    assert {k: v for k, v in _claims(reps).items() if k[0] != COIN} == \
        {k: v for k, v in _claims(before).items() if k[0] != COIN}


def test_deleted_box_leaves_every_claim_and_input_missing(base, tmp_path):
    _, examples, before = base
    reps = _build(_course(tmp_path, [("coins.md", _COIN_BOX, "")]), examples)
    coin = _rep(reps, COIN)
    assert [r.verdict for r in coin.results] == ["missing"] * 3
    assert len(coin.input_problems) == 1 and "input p:" in coin.input_problems[0]  # the page no longer prints it
    assert "not found" in coin.input_problems[0]
    assert not [e for e in report.errata(reps) if e.example == COIN]
    listed = {e.what for e in report.missing_claims(reps) if e.example == COIN}
    assert {"heads term", "tails term", "H in bits"} <= listed and any("input p" in w for w in listed - {
        "heads term", "tails term", "H in bits"})
    assert {k: v[0] for k, v in _claims(reps).items() if k[0] != COIN} == \
        {k: v[0] for k, v in _claims(before).items() if k[0] != COIN}


_FAIR_COIN_BOX = ('!!! example "Worked Example: A Fair Coin"\n'
                  "    Let the coin land heads with probability 0.5 and tails with 0.5.\n"
                  r"    Heads contributes \(-0.5 \log_2 0.5 \approx 0.500\) bits." "\n"
                  r"    Tails contributes \(-0.5 \log_2 0.5 \approx 0.500\) bits." "\n"
                  r"    Adding the two terms, \(H \approx 1.000\) bits." "\n\n")


def test_renamed_box_never_borrows_the_numbers_of_a_look_alike_box(base, tmp_path):
    _, examples, before = base
    course = _course(tmp_path, [("coins.md", _COIN_BOX, _FAIR_COIN_BOX + _COIN_BOX.replace(
        "Worked Example: A Biased Coin", "Worked Example: Entropy of an Unfair Coin"))])
    reps = _build(course, examples)
    coin = _rep(reps, COIN)
    fair = range(_line_of(course, "coins.md", "A Fair Coin"), _line_of(course, "coins.md", "Unfair Coin"))
    for key, nums in coin.located.items():
        assert not any(n.line in fair for n in nums), (key, [(n.line, n.text) for n in nums])
    assert not coin.input_changes
    for i, r in enumerate(coin.results):
        assert r.verdict == "missing" or r.verdict == before_verdict(before, COIN, i), r.claim.label


def test_two_boxes_with_the_records_title_are_ambiguous_not_read_from_the_first(base, tmp_path):
    _, examples, before = base
    copy = _FAIR_COIN_BOX.replace("A Fair Coin", "A Biased Coin")
    course = _course(tmp_path, [("coins.md", _COIN_BOX, copy + _COIN_BOX)])
    reps = _build(course, examples)
    coin = _rep(reps, COIN)
    first = range(_line_of(course, "coins.md", "heads with probability 0.5"), _line_of(course, "coins.md", "H \\approx 1.000") + 1)
    for key, nums in coin.located.items():
        assert not any(n.line in first for n in nums), (key, [(n.line, n.text) for n in nums])
    assert not coin.input_changes
    assert all(r.verdict in ("missing", before_verdict(before, COIN, i)) for i, r in enumerate(coin.results))


def before_verdict(reps, example_id: str, i: int) -> str:
    return _rep(reps, example_id).results[i].verdict


# ---------------------------------------------------------------- a tip box inserted at the top


_TIP = ['!!! tip "Before You Start"',
        "    This page has 3 short sections and takes about 10 minutes to read.",
        "    Each worked example can be checked by hand in 2 or 3 steps.",
        "    Let the coin land heads with probability 0.8 and you have the page's first example.",
        "    The scores of the last page use 2 keys and 3 queries.",
        "",
        "    - read the worked example first;",
        "    - then redo its arithmetic, keeping 3 decimals;",
        "    - then compare with the printed numbers.",
        "",
        "    Heads contributes more than tails whenever its probability is above 0.5.",
        "    Nothing here is a claim of its own: no number in this box is judged,",
        "    and none of it is printed after an equals sign.",
        "    The examples start below.",
        ""]
assert len(_TIP) == 15


def _insert_tip(text: str) -> str:
    title, rest = text.split("\n", 1)
    return title + "\n" + "\n".join(_TIP) + "\n" + rest


def test_inserted_tip_box_at_the_top_changes_nothing_but_line_numbers(base, tmp_path):
    _, examples, before = base
    reps = _build(_course(tmp_path, transform=_insert_tip), examples)
    shift = lambda line: None if line is None else line + 15  # noqa: E731
    assert _claims(reps) == {k: (v[0], shift(v[1]), v[2]) for k, v in _claims(before).items()}
    assert _errata(reps) == {(p, ln + 15, *rest) for p, ln, *rest in _errata(before)}
    for rep0 in before:
        rep1 = _rep(reps, rep0.example.id)
        assert rep1.cell_lines == {i: [ln + 15 for ln in rows] for i, rows in rep0.cell_lines.items()}
        assert not rep1.input_changes and rep1.input_problems == rep0.input_problems and not rep1.page_problems
        assert {k: [n.text for n in v] for k, v in rep1.located.items()} == \
            {k: [n.text for n in v] for k, v in rep0.located.items()}
    acc0 = {a.page: (a.accounted, len(a.counted), [(n.line + 15, n.text) for n in a.unaccounted]) for a in before.accounts}
    acc1 = {a.page: (a.accounted, len(a.counted), [(n.line, n.text) for n in a.unaccounted]) for a in reps.accounts}
    assert acc1 == acc0
    assert [(e.id, e.line) for e in reps.equations] == [(e.id, shift(e.line)) for e in before.equations]
    assert [(r["page"], r["line"], r["covered_by"]) for r in reps.page_examples] == \
        [(r["page"], r["line"] + 15, r["covered_by"]) for r in before.page_examples]


# ---------------------------------------------------------------- a fixed erratum


def test_fixed_erratum_is_judged_correct_leaves_the_errata_and_is_reported_fixed(base, tmp_path):
    _, examples, before = base
    baseline = tmp_path / "accepted.json"
    report.write_baseline(before, baseline)
    course = _course(tmp_path, [("coins.md", r"\(H \approx 0.822\)", r"\(H \approx 0.722\)"),
                                ("coins.md", r"0.1 \approx 2.302\)", r"0.1 \approx 2.303\)"),
                                ("coins.md", "(0.85, 0.05, 0.05, 0.05)", "(0.80, 0.07, 0.07, 0.07)")])
    reps = _build(course, examples)
    claims = _claims(reps)
    assert claims[(COIN, "H in bits")] == ("correct", 18, "0.722")
    assert claims[("minicourse.rare_token", "-ln 0.1")] == ("correct", 23, "2.303")
    assert claims[("minicourse.four_classes", "smoothed target")][:2] == ("correct", 31)
    assert not [e for e in report.errata(reps) if e.page == "coins.md"]
    text = report.markdown(reps)
    assert "the page now prints 0.722 (recorded '0.822' as error); judged: **correct** - the erratum is fixed" in text
    new, fixed = report.gate(reps, {"any"}, report.read_baseline(baseline))
    assert not new
    assert {(k[1], k[2]) for k in fixed} == {(COIN, "H in bits"), ("minicourse.rare_token", "-ln 0.1")} | \
        {("minicourse.four_classes", f"smoothed target[{i}]") for i in range(4)}
    # the rest of the report is as before
    _, gone, changed = _diff(before, reps)
    assert {r[2] for r in gone} == {COIN, "minicourse.rare_token", "minicourse.four_classes"}
    assert {k[0] for k in changed} == {COIN, "minicourse.rare_token", "minicourse.four_classes"}


# ---------------------------------------------------------------- a new example box with no record


_DIE_BOX = ('!!! example "Worked Example: A Fair Die"\n'
            r"    Each of the 6 faces comes up with probability \(1/6 \approx 0.167\)." "\n"
            r"    The entropy of the die is \(\log_2 6 \approx 2.685\) bits." "\n\n")
_AFTER_RARE = r"\(-\ln 0.1 \approx 2.302\) nats." "\n\n"


def test_new_example_box_with_a_wrong_number_and_no_record_shows_its_numbers_unaccounted(base, tmp_path):
    _, examples, before = base
    course = _course(tmp_path, [("coins.md", _AFTER_RARE, _AFTER_RARE + _DIE_BOX)])
    reps = _build(course, examples)
    first = _line_of(course, "coins.md", "Each of the 6 faces")
    second = _line_of(course, "coins.md", "The entropy of the die")
    acc0 = next(a for a in before.accounts if a.page == "coins.md")
    acc1 = next(a for a in reps.accounts if a.page == "coins.md")
    old = {(n.line + (4 if n.line >= first else 0), n.text) for n in acc0.unaccounted}
    new = {(n.line, n.text) for n in acc1.unaccounted}
    # every value number of the new box (6; 1/6 and 0.167; 6 and 2.685, the 2 of log_2 an index), nothing else
    assert new - old == {(first, "6"), (first, "1"), (first, "0.167"), (second, "6"), (second, "2.685")}
    assert old <= new
    assert acc1.accounted == acc0.accounted and len(acc1.counted) == len(acc0.counted) + 6  # 6 printed twice
    text = report.markdown(reps)
    accounts = text[text.index("## Printed numbers accounted for"):]
    row = next(ln for ln in accounts.splitlines() if ln.startswith("| coins.md | "))
    assert row.startswith(f"| coins.md | {acc1.accounted} of {len(acc1.counted)} |")
    assert f"{second}: `" in row and "[2.685]" in row
    assert _errata(reps, lines=False) == _errata(before, lines=False)  # no record: nothing judged, nothing invented
    assert ("coins.md", first - 1, []) in [(r["page"], r["line"], r["covered_by"]) for r in reps.page_examples]


# ---------------------------------------------------------------- the formatting-only rewrite of 7ce1f9e


_FENCE = re.compile(r"^ *```.*?^ *```[^\n]*$", re.M | re.S)
_MATH = re.compile(r"\\\((.+?)\\\)|\\\[(.+?)\\\]", re.S)
_STRAIGHT = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_BREAKDOWN = """
<div class="equation-breakdown" markdown>
#### 📝 Symbol-by-Symbol Breakdown

| Symbol | What it means | Analogy |
|--------|--------------|---------|
| \\\\(x\\\\) | One outcome, such as heads | "One of 2 sides" |
| \\\\(\\\\log_2\\\\) | Logarithm in base 2 | "How many halvings: 8 takes 3" |

**How to read the equation aloud:** "Add up, over the 2 outcomes, each probability times its surprise."
</div>"""
_THINK = """??? tip "🎯 Think of it like… A Weighted Coin"
    Imagine a coin that lands heads 8 times out of 10: each flip surprises you less than a fair coin's.

    - A fair coin gives \\\\(1\\\\) bit per flip
    - A coin that always lands heads gives \\\\(0\\\\) bits
    - Adding the two terms, \\\\(H \\\\approx 0.72\\\\) bits: somewhere in between

"""


def _doubled(m: re.Match) -> str:
    inline = m.group(1) is not None
    body = (m.group(1) if inline else m.group(2)).replace("\\", "\\\\")
    return "\\\\(" + body + "\\\\)" if inline else "\\\\[" + body + "\\\\]"


def like_7ce1f9e(text: str) -> str:
    """The formatting-only rewrite of the course's commit 7ce1f9e: math delimiters written ``\\\\(`` ``\\\\)``
    ``\\\\[`` ``\\\\]`` with every backslash inside math doubled (code left alone), curly quotes made straight,
    an equation-breakdown block after the first displayed equation, a "Think of it like" tip box before the
    first worked example (inside its section, repeating a claim's words)."""
    out, pos = [], 0
    for f in _FENCE.finditer(text):
        out += [_MATH.sub(_doubled, text[pos:f.start()]), f.group(0)]
        pos = f.end()
    text = "".join(out + [_MATH.sub(_doubled, text[pos:])]).translate(_STRAIGHT)
    lines = text.split("\n")
    close = lines.index("\\\\]")
    lines.insert(close + 1, _BREAKDOWN)
    text = "\n".join(lines)
    first = text.index("!!! example")
    return text[:first] + _THINK + text[first:]


def test_formatting_only_rewrite_like_7ce1f9e_locates_every_claim_with_the_same_verdicts(base, tmp_path):
    _, examples, before = base
    course = _course(tmp_path, transform=like_7ce1f9e)
    text = (course / "scores.md").read_text(encoding="utf-8")
    assert "\\\\(Q = \\\\begin{bmatrix} 1 & 0 \\\\\\\\ 1 & 2" in text and "“" not in text and "equation-breakdown" in text
    reps = _build(course, examples)
    assert not any(rep.missing or rep.page_problems or rep.input_problems or rep.input_changes for rep in reps)
    a, b = _claims(before), _claims(reps)
    assert {k: (v[0], v[2]) for k, v in b.items()} == {k: (v[0], v[2]) for k, v in a.items()}
    assert _errata(reps, lines=False) == _errata(before, lines=False)
    for e in report.errata(reps):  # each on the line that prints it
        assert _line_holds(course, e.page, e.line, _first(e.claimed)), e
    carried = lambda rs: {(r.example.id, x.claim.label, x.correct_text) for r in rs for x in r.results  # noqa: E731
                          if x.verdict == "carried"}
    assert carried(reps) == carried(before)
    for rep0 in before:  # the same numbers read, as printed
        rep1 = _rep(reps, rep0.example.id)
        assert {k: [n.text for n in v] for k, v in rep1.located.items()} == \
            {k: [n.text for n in v] for k, v in rep0.located.items()}
    assert {a.page: a.accounted for a in reps.accounts} == {a.page: a.accounted for a in before.accounts}


# ---------------------------------------------------------------- unjudged records beside the examples


def test_unjudged_records_beside_the_examples_are_read_not_loaded_as_examples(tmp_path):
    d = tmp_path / "examples"
    shutil.copytree(EXAMPLES, d)
    (d / "minicourse" / "unjudged.yaml").write_text(
        "page: coins.md\nnumbers:\n  - {scope: 'Worked Example: A Biased Coin', before: 'Headscontributes', "
        "reason: 'the heads probability again'}\n", encoding="utf-8")
    reps = report.build(PAGES, examples_dir=d, equations=report.load_equations(EQUATIONS))
    acc = next(a for a in reps.accounts if a.page == "coins.md")
    assert any(how.startswith("unjudged: the heads probability again") for how in acc.how.values())


def test_reworded_heading_of_a_real_example_keeps_every_claim(course_dir, tmp_path):
    """A harmless edit for course CI: attention_math.md's example heading reworded ("Four Tokens, \\(d_k = 4\\)"
    -> "Four Tokens with \\(d_k = 4\\)"). A context that also stands outside the box (the row-0 sum's
    "\\approx #/#") is read inside the reworded box: its title stands out as the record's (ratio >= 0.85, every
    other title 0.15 further)."""
    from lmverify.course import locate

    course = tmp_path / "course"
    shutil.copytree(course_dir, course)
    page = course / "attention_math.md"
    text = page.read_text(encoding="utf-8")
    old = "## Worked Example: Four Tokens, \\(d_k = 4\\)"
    assert text.count(old) == 1
    before = report.build(course_dir, topic="attention", code=False)
    page.write_text(text.replace(old, "## Worked Example: Four Tokens with \\(d_k = 4\\)"), encoding="utf-8")
    after = report.build(course, topic="attention", code=False)
    assert not report.missing_claims(after)
    assert _claims(after) == _claims(before) and _errata(after) == _errata(before)
    from lmverify.course.model import parse_page

    best, second = parse_page(page.read_text(encoding="utf-8"), "attention_math.md").title_resemblance(
        "Worked Example: Four Tokens, \\(d_k = 4\\)")
    assert best >= locate.RENAMED_RATIO and best - second >= locate.RENAMED_MARGIN
