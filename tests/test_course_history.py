"""The report on real earlier and later revisions of the course pages (``<course>/../course_history``).

7ce1f9e reworked two pages' formatting only (math delimiters written ``\\\\(`` with every backslash inside
math doubled, straight quotes, tip boxes and equation-breakdown blocks added) and kept every worked number:
every claim must be located there, with the verdict, the errata and the carried rows of the current pages.
The older revisions (d7fb51f, 545d21a, a33d22e, 4925cfc) print other text and other numbers: no claim may be
counted or shown correct there unless it was located (a page line, and for a claim read from a slot the
numbers read), each located number must stand on the line named, and every claim not located is listed as
``missing``.

Needs ``--course``; skips cleanly when the history folder is absent. The pages are read in place, never
copied into the project.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from lmverify import report

OLDER = ("d7fb51f", "545d21a", "a33d22e", "4925cfc")
REFORMATTED = "7ce1f9e"
JUDGED = ("correct", "carried", "rounding", "error", "convention")


@pytest.fixture(scope="module")
def history(course_dir) -> Path:
    folder = Path(course_dir).resolve().parent / "course_history"
    if not folder.is_dir():
        pytest.skip(f"no course history beside the course ({folder})")
    return folder


_BUILT: dict[str, report.Reports] = {}


def _build(folder: Path) -> report.Reports:
    key = str(folder)
    if key not in _BUILT:
        _BUILT[key] = report.build(folder)
    return _BUILT[key]


@pytest.fixture(scope="module")
def current(course_dir) -> report.Reports:
    return _build(Path(course_dir))


def _revision(history: Path, rev: str) -> report.Reports:
    folder = history / rev
    if not folder.is_dir():
        pytest.skip(f"revision {rev} is not in {history}")
    return _build(folder)


def _verdicts(reps) -> dict[tuple[str, str], str]:
    return {(rep.example.id, r.claim.label): r.verdict for rep in reps for r in rep.results}


def _errata(reps) -> Counter:
    return Counter((e.page, e.example, e.what, e.claimed, e.correct, e.kind) for e in report.errata(reps))


def _carried(reps) -> Counter:
    return Counter((rep.example.page, rep.example.id, r.claim.label, str(r.claim.claimed), r.correct_text)
                   for rep in reps for r in rep.results if r.verdict == "carried")


def _reads(reps) -> dict:
    """(example, claim index or ("input", name)) -> the texts of the numbers read."""
    return {(rep.example.id, k): [n.text for n in v] for rep in reps for k, v in rep.located.items()}


# ---------------------------------------------------------------- 7ce1f9e: formatting only


def _unlocated(reps) -> list[tuple[str, str, str | None]]:
    """Claims the page did not locate: a slotted claim with no numbers read, a text claim with no line."""
    return [(rep.example.id, r.claim.label, rep.page_problems.get(i)) for rep in reps for i, r in enumerate(rep.results)
            if (i not in rep.located if r.claim.slotted else rep.page_lines.get(i) is None)]


def test_7ce1f9e_every_claim_located_with_the_current_verdicts(history, current):
    reps = _revision(history, REFORMATTED)
    assert not _unlocated(reps), _unlocated(reps)
    assert not any(rep.input_problems for rep in reps)
    # no claim missing there that the current pages judge (a claim the recipes cannot judge is missing on both)
    assert {k for k, v in _verdicts(reps).items() if v == "missing"} <= \
        {k for k, v in _verdicts(current).items() if v == "missing"}
    assert _verdicts(reps) == _verdicts(current)
    assert len(_verdicts(reps)) >= 250


def test_7ce1f9e_errata_and_carried_rows_equal_the_current_pages(history, current):
    reps = _revision(history, REFORMATTED)
    assert _errata(reps) == _errata(current)
    assert _carried(reps) == _carried(current)
    assert sum(_errata(reps).values()) >= 20 and sum(_carried(reps).values()) >= 1


def test_7ce1f9e_reads_the_same_numbers_and_inputs_each_on_the_line_named(history, current):
    reps = _revision(history, REFORMATTED)
    assert _reads(reps) == _reads(current)
    assert [(rep.example.id, c.name) for rep in reps for c in rep.input_changes] == \
        [(rep.example.id, c.name) for rep in current for c in rep.input_changes]
    _numbers_stand_where_named(history / REFORMATTED, reps)
    slotted = {(rep.example.id, c.label) for rep in reps for c in rep.example.claims if c.slotted}
    for e in report.errata(reps):  # each erratum of a printed number on a line of its page that prints it
        if (e.example, re.sub(r"\[[\d, ]+\]$", "", e.what)) not in slotted:
            continue  # a list or a count of printed items: its line is its anchor's
        line = (history / REFORMATTED / e.page).read_text(encoding="utf-8").split("\n")[e.line - 1]
        first = e.claimed.split(",")[0].strip("[ ")
        assert first in line.replace("\u2212", "-"), (e.page, e.line, e.what, e.claimed)


# ---------------------------------------------------------------- older revisions: only what is located counts


def _numbers_stand_where_named(folder: Path, reps) -> None:
    for rep in reps:
        lines = (folder / rep.example.page).read_text(encoding="utf-8").split("\n")
        for key, nums in rep.located.items():
            for n in nums:
                shown = re.split(r"[eE]", n.text.lstrip("-"))[0]  # 2.68e8 is printed 2.68 \times 10^8
                assert shown in lines[n.line - 1].replace("\u2212", "-"), (rep.example.id, key, n)


@pytest.mark.parametrize("rev", OLDER)
def test_older_revision_counts_and_shows_only_located_claims(history, rev):
    reps = _revision(history, rev)
    judged = missing = 0
    for rep in reps:
        for i, r in enumerate(rep.results):
            where = (rev, rep.example.id, r.claim.label)
            if r.verdict == "missing":
                missing += 1
                assert i in rep.page_problems, where  # with why
                continue
            assert r.verdict in JUDGED, where
            judged += 1
            assert rep.page_lines.get(i) is not None, where
            if r.claim.slotted:
                assert rep.located.get(i), where  # a number read from the page, not the record
                assert rep.page_lines[i] == rep.located[i][0].line, where
    _numbers_stand_where_named(history / rev, reps)
    # the report's counts are the located verdicts; missing claims are counted apart, never as correct
    text = report.markdown(reps)
    counts = Counter(r.verdict for rep in reps for r in rep.results)
    head = next(ln for ln in text.splitlines() if ln.startswith("Worked examples:"))
    for kind in ("correct", "carried", "rounding", "convention", "error", "missing"):
        assert f"{kind}: {counts.get(kind, 0)}" in head, (rev, kind, head)
    assert judged + missing == sum(len(rep.results) for rep in reps)


@pytest.mark.parametrize("rev", OLDER)
def test_older_revision_lists_every_claim_not_located_as_missing(history, rev):
    reps = _revision(history, rev)
    listed = Counter((e.example, e.what) for e in report.missing_claims(reps) if e.kind == "missing")
    expected = Counter((rep.example.id, rep.results[i].claim.label) for rep in reps for i in rep.missing)
    assert all(listed[k] >= n for k, n in expected.items()), sorted(set(expected) - set(listed))
    assert not any((e.example, e.what) in expected for e in report.errata(reps))  # never an erratum either
    rows = [ln for ln in report.markdown(reps).splitlines() if ln.endswith("| **missing** |")]
    assert len(rows) == sum(expected.values())
    unlocated = Counter((ex, label) for ex, label, _ in _unlocated(reps))
    assert sum(1 for row in rows if "| (missing) |" in row) == sum(unlocated.values())  # no line for them
    gated, _ = report.gate(reps, {"missing"})
    labels = {(rep.example.id, c.label) for rep in reps for c in rep.example.claims}
    assert Counter((e.example, e.what) for e in gated if (e.example, e.what) in labels) == expected


def test_older_revisions_summary(history, capsys):
    """The figures, for the record (located and missing claims per revision)."""
    lines = []
    for rev in OLDER + (REFORMATTED,):
        reps = _revision(history, rev)
        counts = Counter(r.verdict for rep in reps for r in rep.results)
        lines.append(f"{rev}: " + ", ".join(f"{k} {counts[k]}" for k in JUDGED + ("missing",) if counts[k]))
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert len(lines) == 5
