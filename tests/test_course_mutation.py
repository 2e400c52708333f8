"""Mutation test of the course pages: each printed number that a claim or an input reads, changed in place.

For every printed number that belongs to a claim or an input of a worked example (``ExampleReport.located``:
claim index -> the page's Numbers; ``("input", name)`` -> the Numbers an input is read from), a copy of its
page is written with that one number made wrong at its printed precision: 3 units in its last printed place
(the same number of decimals; an integer + 3), or further where 3 units would still land within a unit of
the right value, of a carried or other-convention value, or within a Monte Carlo claim's tolerance. The
report is rebuilt for that page alone (``report.build(folder holding only that page, examples=its
examples)``), and a careful reviewer's expectations are checked:

* the claim(s) that read the number: judged ``error``, at the number's line, the page's new number shown,
  the recomputed value given as the correct one; a matrix or vector claim has an erratum row for that cell
  only (besides the rows it had); a number read by two claims flips both;
* an input number: "input changed" with the page's new value, and every claim re-judged on the recomputed
  quantities;
* nothing else changes: every other claim of the page is located at the same numbers and lines, with the
  same verdict and the same errata rows.

And each recorded erratum, its correct value written into the page, is judged correct ("fixed"): it leaves
the errata and the report shows the page's new number.

The expected verdict of a re-judged claim is a fresh ``lmverify.worked.judge`` of the number the page now
prints at the claim's slot, on quantities recomputed (``compute``) from the inputs the page now prints: the
verdict arithmetic is tested elsewhere; what is tested here is *where* each number is read from and *what*
is recomputed.

The mini-course (tests/data/minicourse, with the biased coin's inputs read from its page, and the extra
page of matrices in tests/data/minicourse/extra) is swept whole in every run; the real pages (``--course``)
by a seeded sample of mutations (and of fixed errata) in every run, and whole under ``-m slow``.
"""

from __future__ import annotations

import dataclasses
import random
import re
import shutil
import time
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from lmverify import report
from lmverify.course.model import Number, parse_page
from lmverify.worked import WorkedExampleError, compute, judge, load_all_examples, load_example

MINI = Path(__file__).parent / "data" / "minicourse"
MINI_PAGES, MINI_EXAMPLES = MINI / "pages", MINI / "examples"
EXTRA_PAGES, EXTRA_EXAMPLES = MINI / "extra" / "pages", MINI / "extra" / "examples"
#: the biased coin's inputs read from its page (the mini-course's record transcribes them only)
COIN_READ = "read: {p: ['headswithprobability', 'andtailswith']}\n"

SEED = 20260410
SAMPLE = 40  # mutations of the real pages in the default run
FIX_SAMPLE = 6  # fixed errata of the real pages in the default run
#: how far a number is moved, in units of its last printed place, in the order tried
STEPS = [3, -3, 4, -4, 5, -5, 6, -6, 7, -7, 8, -8, 9, -9] + [s * 10 ** k for k in range(1, 10) for s in (3, -3)]


# ---------------------------------------------------------------- numbers as printed, moved


_PRINTED = re.compile(r"^(-?)(\d+(?:(?:,|\{,\})\d{3})*)(?:\.(\d+))?([eE][-+]?\d+)?$")


def shifted(text: str, units: int) -> str | None:
    """``text`` (a number as the page model gives it, a minus as ``-``) moved by ``units`` in its last printed
    place, printed the same way (decimals, thousands separators, exponent, sign); None if it would cross zero."""
    m = _PRINTED.match(text)
    if m is None:
        return None
    sign, whole, frac, exp = m.group(1), m.group(2), m.group(3) or "", m.group(4) or ""
    sep = "{,}" if "{,}" in whole else ("," if "," in whole else "")
    digits = int(whole.replace("{,}", "").replace(",", "") + frac) + units
    if digits < 0 or (digits == 0 and sign):
        return None
    s = str(digits).rjust(len(frac) + 1, "0")
    w, d = (s[:-len(frac)], s[-len(frac):]) if frac else (s, "")
    if sep:
        groups = []
        while len(w) > 3:
            groups.insert(0, w[-3:])
            w = w[:-3]
        w = sep.join([w] + groups)
    return sign + w + ("." + d if frac else "") + exp


def value_of(text: str) -> float:
    return float(text.replace("{,}", "").replace(",", ""))


def unit_of(text: str) -> float:
    m = _PRINTED.match(text)
    frac, exp = m.group(3) or "", m.group(4) or ""
    return float(Decimal(1).scaleb(-len(frac) + (int(exp[1:]) if exp else 0)))


def place(page_text: str, n: Number, new: str, numbers: list[Number]) -> list[str]:
    """Copies of the page with the printed number ``n`` written as ``new``: one per place on its line where its
    text stands, the likeliest first (the k-th such place for the k-th number of that text on the line)."""
    lines = page_text.split("\n")
    raw = lines[n.line - 1]
    old_text, new_text = n.text, new
    if re.search(r"[eE]", n.text) and n.text not in raw:
        # read as scientific notation from a mantissa and "\times 10^k": the mantissa is what changes
        old_text, new_text = re.split(r"[eE]", n.text)[0], re.split(r"[eE]", new)[0]
    body = old_text[1:] if old_text.startswith("-") else old_text
    sign = "[-\u2212]" if old_text.startswith("-") else ""
    spans = [(m.start(), m.end(), m.group(1)) for m in
             re.finditer(rf"(?<![0-9.])({sign}){re.escape(body)}(?![0-9])(?!\.[0-9])", raw)]
    k = sum(1 for o in numbers if o.line == n.line and o.text == n.text and o.ordinal < n.ordinal)
    order = ([spans[k]] if k < len(spans) else []) + [s for j, s in enumerate(spans) if j != k]
    out = []
    for start, end, minus in order:
        new_body = new_text[1:] if new_text.startswith("-") else new_text
        lines2 = list(lines)
        lines2[n.line - 1] = raw[:start] + minus + new_body + raw[end:]
        out.append("\n".join(lines2))
    return out


def only_changed(before: list[Number], after: list[Number], changes: dict[int, str]) -> bool:
    """The page's numbers after an edit are those before, but for the ordinals in ``changes`` (new texts)."""
    if len(before) != len(after):
        return False
    return all((a.text, a.line, a.index) == (changes.get(b.ordinal, b.text), b.line, b.index)
               for b, a in zip(before, after))


# ---------------------------------------------------------------- the page alone, before and after


@dataclass
class Target:
    """One printed number and who reads it: (example id, claim index or ("input", name), position in the
    numbers read)."""

    page: str
    number: Number
    readers: list[tuple[str, object, int]] = field(default_factory=list)

    @property
    def name(self) -> str:
        who = ", ".join(f"{ex}:{k[1] if isinstance(k, tuple) else k}" for ex, k, _ in self.readers)
        return f"{self.page}:{self.number.line} [{self.number.text}] ({who})"


@dataclass
class PageBase:
    """A page judged alone, unedited: its text, model, examples, report and each example's quantities."""

    page: str
    text: str
    folder: Path  # where the edited copies are written (the page alone)
    examples: list
    reps: report.Reports
    model: object  # the unedited page's model (lmverify.course.model.Page)

    @property
    def numbers(self) -> list[Number]:
        return self.model.numbers

    def rep(self, example_id: str):
        return next(r for r in self.reps if r.example.id == example_id)

    def targets(self) -> list[Target]:
        """Every number read by a claim or an input (a claim located but that cannot be judged on the unedited
        page, its recipe lacking the quantity, is left out: see ``unjudgeable``)."""
        by: dict[int, Target] = {}
        for rep in self.reps:
            for key, nums in rep.located.items():
                if not isinstance(key, tuple) and rep.results[key].verdict == "missing":
                    continue
                for pos, n in enumerate(nums):
                    by.setdefault(n.ordinal, Target(self.page, n)).readers.append((rep.example.id, key, pos))
        return [by[o] for o in sorted(by)]

    def unjudgeable(self) -> list[str]:
        return [f"{self.page}:{rep.page_lines.get(i)} {rep.example.id} / {rep.results[i].claim.label}"
                for rep in self.reps for i in rep.located if not isinstance(i, tuple)
                and rep.results[i].verdict == "missing"]

    def build(self, text: str) -> report.Reports:
        (self.folder / self.page).write_text(text, encoding="utf-8")
        return report.build(self.folder, examples=self.examples, equations=[])


def page_base(course: Path, page: str, examples: list, work: Path) -> PageBase:
    folder = work / page.replace(".md", "")
    folder.mkdir(parents=True, exist_ok=True)
    text = (course / page).read_text(encoding="utf-8")
    mine = [ex for ex in examples if ex.page == page]
    base = PageBase(page, text, folder, mine, None, parse_page(text, page))
    base.reps = base.build(text)
    return base


# ---------------------------------------------------------------- what a reviewer expects


def _texts_as_claimed(claim, texts: list[str]):
    if isinstance(claim.claimed, list):
        return np.reshape(np.asarray(texts, dtype=object), np.shape(np.asarray(claim.claimed, dtype=object))).tolist()
    t = texts[0]
    plain = t.replace(",", "").replace("{,}", "").lstrip("-")
    return int(t.replace(",", "").replace("{,}", "")) if plain.isdigit() else t


@dataclass
class Expected:
    inputs: dict  # input name -> the value the page now prints (every input read)
    changed: dict  # input name -> the page's value, where it differs from the record
    quantities: dict | None
    results: dict  # claim index -> ClaimResult (or "missing")
    error: str = ""  # the recipe refuses the page's inputs


_QUANTITIES: dict[tuple, dict] = {}  # (example id, the inputs as printed) -> quantities (the recipe is deterministic)


def expected(rep, changes: dict[int, str]) -> Expected:
    """The example judged afresh on the page as edited (``changes``: ordinal -> new text)."""
    ex = rep.example
    inputs, changed = dict(ex.inputs), {}
    for key, nums in rep.located.items():
        if not isinstance(key, tuple):
            continue
        name = key[1]
        vals = [value_of(changes.get(n.ordinal, n.text)) for n in nums]
        shape = np.shape(ex.inputs[name])
        value = np.reshape(vals, shape).tolist() if shape else vals[0]
        inputs[name] = value
        if not np.array_equal(np.asarray(ex.inputs[name], dtype=np.float64).ravel(), np.asarray(vals)):
            changed[name] = value
    key = (ex.id, str(ex.path), repr(sorted(inputs.items())))
    if key not in _QUANTITIES:
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # values tried for an input (log 0)
                _QUANTITIES[key] = compute(dataclasses.replace(ex, inputs=inputs), "numpy")
        except (WorkedExampleError, ValueError, ZeroDivisionError, FloatingPointError) as exc:
            _QUANTITIES[key] = f"{type(exc).__name__}: {exc}"
    quantities = _QUANTITIES[key]
    if isinstance(quantities, str):
        return Expected(inputs, changed, None, {}, quantities)
    results = {}
    for i, claim in enumerate(ex.claims):
        if i in rep.located:
            now = _texts_as_claimed(claim, [changes.get(n.ordinal, n.text) for n in rep.located[i]])
            try:
                results[i] = judge(dataclasses.replace(claim, claimed=now), quantities)
            except WorkedExampleError:
                results[i] = "missing"
        elif rep.results[i].verdict == "missing":
            results[i] = "missing"
        elif not claim.is_list or i not in rep.page_numbers:
            results[i] = judge(claim, quantities)
    return Expected(inputs, changed, quantities, results)


def _at(value, index, pos: int) -> float:
    v = np.asarray(value, dtype=np.float64)
    if index is not None:
        v = v[tuple(index)]
    return float(v.ravel()[pos])


def acceptable(base: PageBase, t: Target, new: str) -> bool:
    """Is ``new`` wrong, at its printed precision, for every claim that reads the number (and, for an input,
    a value the recipe takes)?"""
    u, v = unit_of(new), value_of(new)
    changes = {t.number.ordinal: new}
    for ex_id, key, pos in t.readers:
        rep = base.rep(ex_id)
        if isinstance(key, tuple):
            if expected(rep, changes).error:
                return False
            continue
        claim, r = rep.example.claims[key], rep.results[key]
        q = expected(rep, {}).quantities
        avoid = [_at(r.computed, None, pos)]
        if claim.alternative:
            avoid.append(_at(q[claim.alternative], claim.index, pos))
        if claim.carried:
            avoid.append(_at(q[claim.carried], None, 0))
        if any(abs(v - a) <= 1.5 * u for a in avoid):
            return False
        if claim.statistical:
            est, se = float(q[claim.statistical["estimate"]]), float(q[claim.statistical["standard_error"]])
            if abs(v - est) <= 4 * se + u:
                return False
    return True


def wrong_text(base: PageBase, t: Target) -> tuple[str, bool]:
    """The wrong value to print (and whether the recipe takes it: an input the recipe refuses alone, such as
    one probability of a distribution, gets +3 units all the same)."""
    is_input = any(isinstance(k, tuple) for _, k, _ in t.readers)
    for step in STEPS:
        if is_input and abs(step) >= 10:
            break  # an input is moved a few units at most (a count or a size far off could exhaust the machine)
        new = shifted(t.number.text, step)
        if new is not None and acceptable(base, t, new):
            return new, True
    return shifted(t.number.text, 3) or shifted(t.number.text, -3), False


# ---------------------------------------------------------------- the checks


def _shown(text: str) -> str:
    """A number as a reader sees it (LaTeX's ``{,}`` thousands separator is a comma)."""
    return str(text).replace("{,}", ",")


def _rows(errata, example_id: str, label: str) -> set[tuple]:
    """The errata rows of one claim: its label, or its label and a cell index (``S[2, 3]``)."""
    cell = re.compile(re.escape(label) + r"\[\d+(?:, \d+)*\]")
    return {(e.line, e.what, _shown(e.claimed), e.correct, e.kind) for e in errata
            if e.example == example_id and (e.what == label or cell.fullmatch(e.what))}


def _cell_label(claim, pos: int) -> str:
    if not isinstance(claim.claimed, list):
        return claim.label
    idx = np.unravel_index(pos, np.shape(np.asarray(claim.claimed, dtype=object)))
    return f"{claim.label}[{', '.join(str(int(i)) for i in idx)}]"


def _correct_at(result, pos: int) -> str:
    return result.cells[pos].correct if result.cells else result.correct_text


MISPLACED = "the edit did not change exactly the intended number(s) of the page model"
#: a problem of its own kind: a text claim located by an anchor that holds an input's printed number goes
#: missing when that input changes, instead of being re-judged on the recomputed value
ANCHORED = "[anchored on an input]"


def _anchored_on(claim, line: int | None, changes: dict[int, str], page) -> bool:
    """Does a text claim's anchor or printed text (a qualitative claim's claimed text, which the report also
    looks for) hold one of the changed numbers, in the block (paragraph, list item, cell) where it stands?"""
    words = " ".join([claim.anchor or "", claim.printed or "", claim.claimed if isinstance(claim.claimed, str) else ""])
    for n in page.numbers:
        block = page.blocks[n.block]
        if n.ordinal in changes and line is not None and block.line <= line <= max(block.end, block.line) and \
                re.search(rf"(?<![0-9.]){re.escape(n.text.lstrip('-'))}(?![0-9])", words):
            return True
    return False



def check_edit(base: PageBase, changes: dict[int, str], page_text: str, *, flips: dict | None = None,
               fixes: set | None = None, touched: set | None = None) -> tuple[list[str], report.Reports | None]:
    """Build the edited page and compare with what a reviewer expects; the problems found (none: judged right).
    ``flips``: (example id, claim index) -> positions whose numbers were made wrong (judged error there);
    ``fixes``: (example id, claim index) whose erratum was corrected (judged correct); ``touched``: claims
    that read a changed number (the report must show the page's new number)."""
    flips, fixes = flips or {}, fixes or set()
    touched = set(touched or ()) | set(flips) | fixes
    try:
        new = base.build(page_text)
    except Exception as exc:  # noqa: BLE001 - a report that cannot be built is a finding of its own
        return [f"the report could not be built: {type(exc).__name__}: {str(exc)[:300]}"], None
    problems = []
    after = new.pages.page(base.page).numbers
    if not only_changed(base.numbers, after, changes):
        return [MISPLACED], new
    old_errata, new_errata = report.errata(base.reps), report.errata(new)
    for rep0 in base.reps:
        ex = rep0.example
        rep1 = next(r for r in new if r.example.id == ex.id)
        exp = expected(rep0, changes)
        if exp.error:
            # the recipe refuses the inputs the page prints now: the change named, none of the example's claims
            # judged (never correct), the other examples as before
            if set(exp.changed) - {c.name for c in rep1.input_changes}:
                problems.append(f"{ex.id}: input change {sorted(exp.changed)} not reported "
                                f"({[c.name for c in rep1.input_changes]})")
            if any(r.verdict != "missing" for r in rep1.results):
                problems.append(f"{ex.id}: the recipe refuses the page's inputs ({exp.error[:120]}), yet claims are "
                                f"judged: {[(r.claim.label, r.verdict) for r in rep1.results if r.verdict != 'missing']}")
            if len(rep1.input_problems) <= len(rep0.input_problems):
                problems.append(f"{ex.id}: the recipe refuses the page's inputs, and the report does not say so")
            if [e for e in new_errata if e.example == ex.id]:
                problems.append(f"{ex.id}: errata of an example that cannot be judged")
            continue
        # inputs: the changed ones reported with the page's value, no other
        got = {c.name: c.page for c in rep1.input_changes}
        want = {k: v for k, v in exp.changed.items()}
        if set(got) != set(want) or any(not np.allclose(np.asarray(got[k], dtype=float), np.asarray(want[k], dtype=float))
                                         for k in want):
            problems.append(f"{ex.id}: input changes reported {got}, expected {want}")
        if rep1.input_problems != rep0.input_problems:
            problems.append(f"{ex.id}: input problems {rep1.input_problems} (were {rep0.input_problems})")
        for i, claim in enumerate(ex.claims):
            r0, r1, e = rep0.results[i], rep1.results[i], exp.results.get(i)
            who = f"{ex.id} / {claim.label}"
            if i in rep0.located:
                if i not in rep1.located or [n.ordinal for n in rep1.located[i]] != [n.ordinal for n in rep0.located[i]]:
                    problems.append(f"{who}: read at {[(n.line, n.text) for n in rep1.located.get(i, ())]}, "
                                    f"not at its slot {[(n.line, n.text) for n in rep0.located[i]]}")
                    continue
                if rep1.page_lines.get(i) != rep0.page_lines.get(i):
                    problems.append(f"{who}: line {rep1.page_lines.get(i)}, was {rep0.page_lines.get(i)}")
            elif r0.verdict == "missing" and r1.verdict != "missing":
                problems.append(f"{who}: was missing, now {r1.verdict}")
            elif r1.verdict == "missing" and _anchored_on(claim, rep0.page_lines.get(i), changes, base.model):
                # a text claim whose anchor (or printed text) holds the changed number: the words it names are
                # gone, so 'missing' (never correct) is what the report may say. For an input whose claims
                # must be re-judged, that is a problem of its own kind.
                if exp.changed and not isinstance(e, str) and e is not None and \
                        (e.verdict, e.correct_text) != (r0.verdict, r0.correct_text):
                    problems.append(f"{ANCHORED} {who}: located by its anchor {claim.anchor!r}, which holds the "
                                    f"input number changed, so it is missing instead of re-judged "
                                    f"({e.verdict}, correct {e.correct_text})")
                continue
            if e is None:
                continue
            verdict = e if isinstance(e, str) else e.verdict
            if r1.verdict != verdict:
                problems.append(f"{who}: judged {r1.verdict}, expected {verdict}"
                                + (f" (page prints {rep1.page_numbers.get(i, r1.claim.claimed)!r}, correct "
                                   f"{e.correct_text})" if not isinstance(e, str) else ""))
                continue
            if not isinstance(e, str) and r1.correct_text != e.correct_text:
                problems.append(f"{who}: correct value shown {r1.correct_text}, expected {e.correct_text}")
            key = (ex.id, i)
            if key in touched and i not in rep1.page_numbers:
                problems.append(f"{who}: the report does not show the page's new number")
            if key in flips and isinstance(e, str):
                problems.append(f"{who}: a number made wrong cannot be judged: {rep1.page_problems.get(i)}")
            elif key in flips:
                if r1.verdict != "error":
                    problems.append(f"{who}: a number made wrong is judged {r1.verdict}")
                rows = _rows(new_errata, ex.id, claim.label)
                for pos in flips[key]:
                    n = rep0.located[i][pos]
                    want_row = (n.line, _cell_label(claim, pos), _shown(changes[n.ordinal]), _correct_at(e, pos), "error")
                    if not any(row[1:] == want_row[1:] for row in rows):
                        problems.append(f"{who}: no erratum {want_row[1:]} (rows: {sorted(rows)})")
                    elif want_row not in rows:
                        line = next(row[0] for row in rows if row[1:] == want_row[1:])
                        problems.append(f"{who}: erratum {want_row[1]} at line {line}, the number is on line {n.line}")
                # the claim's other rows: as before, but for the cells made wrong
                cells = {_cell_label(claim, pos) for pos in flips[key]}
                others0 = {row for row in _rows(old_errata, ex.id, claim.label) if row[1] not in cells}
                others1 = {row for row in rows if row[1] not in cells}
                if others0 != others1 and not exp.changed:
                    if {row[:4] for row in others0} == {row[:4] for row in others1} and claim.alternative:
                        problems.append(f"{CONVENTION_CELLS} {who}: the cells left as printed turned from "
                                        f"{sorted({r[4] for r in others0})} to {sorted({r[4] for r in others1})}")
                    else:
                        problems.append(f"{who}: other errata rows changed: {sorted(others0 ^ others1)}")
            elif key in fixes:
                if r1.verdict != "correct" or _rows(new_errata, ex.id, claim.label):
                    problems.append(f"{who}: the corrected erratum is judged {r1.verdict}, rows "
                                    f"{sorted(_rows(new_errata, ex.id, claim.label))}")
            elif not exp.changed and r1.verdict == r0.verdict:
                if _rows(new_errata, ex.id, claim.label) != _rows(old_errata, ex.id, claim.label):
                    problems.append(f"{who}: errata rows changed though nothing it reads did")
    return problems, new


#: a problem of its own kind (see test_mini_course_one_cell_of_a_convention_vector_made_wrong_is_the_only_error):
#: one cell of a vector printed under the other convention made wrong, and the cells left as printed are
#: reported as kind 'error' instead of 'convention'
CONVENTION_CELLS = "[convention cells]"


@dataclass
class Tally:
    mutated: dict = field(default_factory=dict)  # page -> count
    right: dict = field(default_factory=dict)
    failures: list = field(default_factory=list)
    convention_cells: list = field(default_factory=list)  # failures that are CONVENTION_CELLS problems only
    anchored: list = field(default_factory=list)  # failures that are ANCHORED problems only
    unjudgeable: list = field(default_factory=list)  # claims located but not judgeable before any edit
    refused: list = field(default_factory=list)  # inputs the recipe refuses alone
    seconds: float = 0.0

    def add(self, page: str, ok: bool, what: str, problems: list[str]) -> None:
        self.mutated[page] = self.mutated.get(page, 0) + 1
        self.right[page] = self.right.get(page, 0) + ok
        if not ok:
            line = f"{what}: " + "; ".join(problems[:4])
            if all(p.startswith(CONVENTION_CELLS) for p in problems):
                self.convention_cells.append(line)
            elif all(p.startswith(ANCHORED) for p in problems):
                self.anchored.append(line)
            else:
                self.failures.append(line)

    def known(self) -> str:
        """What the figure does not say: inputs the recipe refuses, and the mutations judged wrong only in a way
        a test of its own states."""
        parts = [f"{len(self.refused)} of them input numbers the recipe refuses when changed alone (the example "
                 f"then not judged)" if self.refused else "",
                 f"{len(self.convention_cells)} wrong only in the kind of a convention vector's other cells"
                 if self.convention_cells else "",
                 f"{len(self.anchored)} with a text claim anchored on the changed input gone missing"
                 if self.anchored else "",
                 f"{len(self.unjudgeable)} claim(s) located but not judgeable on the unedited pages, left out: "
                 f"{self.unjudgeable}" if self.unjudgeable else ""]
        return "; ".join(p for p in parts if p)

    def figure(self, title: str) -> str:
        per = ", ".join(f"{p} {self.right.get(p, 0)}/{n}" for p, n in sorted(self.mutated.items()))
        total, right = sum(self.mutated.values()), sum(self.right.values())
        return f"{title}: mutated {total}, judged right {right} ({per}) in {self.seconds:.1f} s"


def refused(base: PageBase, t: Target) -> bool:
    """An input number that no wrong value can replace alone without the recipe refusing it (one probability
    of a printed distribution, a probability of 1)."""
    return any(isinstance(k, tuple) for _, k, _ in t.readers) and not wrong_text(base, t)[1]


def mutate(base: PageBase, t: Target, tally: Tally) -> None:
    new, takes = wrong_text(base, t)
    if not takes:
        tally.refused.append(f"{t.name} -> {new}")  # judged: the example not judged, the change named
    changes = {t.number.ordinal: new}
    flips: dict = {}
    claims = {(ex_id, key) for ex_id, key, _ in t.readers if not isinstance(key, tuple)}
    if takes and all(not isinstance(key, tuple) for _, key, _ in t.readers):
        # a number no input reads: each claim that reads it is an error at that number, nothing else moves;
        # (a number that is also an input: its claims are judged afresh on the recomputed quantities)
        for ex_id, key, pos in t.readers:
            flips.setdefault((ex_id, key), []).append(pos)
    problems = ["could not place the change"]
    for text in place(base.text, t.number, new, base.numbers):
        if only_changed(base.numbers, parse_page(text, base.page).numbers, changes):
            problems, _ = check_edit(base, changes, text, flips=flips, touched=claims)
            break
    tally.add(t.page, not problems, f"{t.name} -> {new}", problems)


def erratum_fixes(base: PageBase) -> list[tuple[str, int, dict[int, str]]]:
    """Each recorded erratum of the page that reads printed numbers: (example id, claim, ordinal -> the correct
    text of each wrong number)."""
    out = []
    for rep in base.reps:
        for i, r in enumerate(rep.results):
            if r.verdict not in ("error", "rounding", "convention") or i not in rep.located:
                continue
            nums = rep.located[i]
            if r.cells:
                changes = {nums[k].ordinal: c.correct for k, c in enumerate(r.cells) if c.verdict != "correct"}
            else:
                changes = {nums[0].ordinal: r.correct_text}
            out.append((rep.example.id, i, changes))
    return out


def fix(base: PageBase, ex_id: str, i: int, changes: dict[int, str], tally: Tally) -> None:
    text = base.text
    numbers = list(base.numbers)
    done = {}
    for o, correct in changes.items():
        n = next(x for x in numbers if x.ordinal == o)
        for cand in place(text, n, correct, numbers):
            model = parse_page(cand, base.page).numbers
            if only_changed(base.numbers, model, {**done, o: correct}):
                text, numbers, done[o] = cand, model, correct
                break
    label = base.rep(ex_id).example.claims[i].label
    what = f"{base.page} {ex_id} / {label} fixed to {list(changes.values())}"
    if done != changes:
        tally.add(base.page, False, what, ["could not place the correction"])
        return
    problems, _ = check_edit(base, changes, text, fixes={(ex_id, i)})
    tally.add(base.page, not problems, what, problems)


def _say(capsys, line: str) -> None:
    with capsys.disabled():
        print("\n" + line)


# ---------------------------------------------------------------- the mini-course: swept whole, every run


@pytest.fixture(scope="module")
def mini(tmp_path_factory) -> list[PageBase]:
    work = tmp_path_factory.mktemp("mini_mutation")
    course = work / "course"
    course.mkdir()
    for folder in (MINI_PAGES, EXTRA_PAGES):
        for p in folder.glob("*.md"):
            shutil.copy(p, course / p.name)
    examples_dir = work / "examples"
    shutil.copytree(MINI_EXAMPLES, examples_dir)
    coin = examples_dir / "minicourse" / "biased_coin.yaml"
    coin.write_text(coin.read_text(encoding="utf-8") + COIN_READ, encoding="utf-8")
    examples = load_all_examples(examples_dir) + load_all_examples(EXTRA_EXAMPLES)
    return [page_base(course, p, examples, work / "pages") for p in ("coins.md", "weights.md", "scores.md")]


def test_mini_course_every_read_number_mutated_is_judged_at_its_own_slot(mini, capsys):
    tally = Tally()
    start = time.perf_counter()
    targets = [(b, t) for b in mini for t in b.targets()]
    assert len(targets) >= 30  # the coin's inputs, the claims of three pages, the matrices' cells
    assert any(isinstance(k, tuple) for _, t in targets for _, k, _ in t.readers)  # inputs among them
    assert any(len(t.readers) > 1 for _, t in targets)  # a number read by two claims
    for base, t in targets:
        mutate(base, t, tally)
    tally.seconds = time.perf_counter() - start
    _say(capsys, tally.figure("mini-course mutation sweep") + (f"; {tally.known()}" if tally.known() else ""))
    assert not tally.failures, tally.figure("mini-course") + "\n" + "\n".join(tally.failures)


def test_mini_course_one_cell_of_a_convention_vector_made_wrong_is_the_only_error(mini):
    tally = Tally()
    base = next(b for b in mini if b.page == "coins.md")
    for t in base.targets():
        if any(ex == "minicourse.four_classes" for ex, _, _ in t.readers):
            mutate(base, t, tally)
    assert sum(tally.mutated.values()) == 4 and not tally.failures
    assert not tally.convention_cells, "\n".join(tally.convention_cells)


def test_mini_course_an_input_the_recipe_refuses_is_reported_not_raised(mini, capsys):
    tally = Tally()
    targets = [(b, t) for b in mini for t in b.targets() if refused(b, t)]
    assert len(targets) == 2  # the coin's 0.8 and 0.2, each alone
    _refused_inputs_are_reported(targets, tally)
    assert not tally.failures, "\n".join(tally.failures)


def _refused_inputs_are_reported(targets, tally: Tally) -> None:
    """A page input the recipe refuses: the report still builds, names the input change, shows none of that
    example's claims as correct, and judges the other examples as before."""
    for base, t in targets:
        new, _ = wrong_text(base, t)
        text = next(x for x in place(base.text, t.number, new, base.numbers)
                    if only_changed(base.numbers, parse_page(x, base.page).numbers, {t.number.ordinal: new}))
        try:
            reps = base.build(text)
        except Exception as exc:  # noqa: BLE001
            tally.add(base.page, False, t.name, [f"{type(exc).__name__}: {str(exc)[:200]}"])
            continue
        rep = next(r for r in reps if r.example.id == t.readers[0][0])
        ok = ({c.name for c in rep.input_changes} == {t.readers[0][1][1]}
              and all(r.verdict != "correct" for r in rep.results)
              and all(r.verdict == r0.verdict for rep0 in base.reps if rep0.example.id != rep.example.id
                      for r, r0 in zip(next(x for x in reps if x.example.id == rep0.example.id).results, rep0.results)))
        tally.add(base.page, ok, t.name, ["input change not reported, or a claim shown correct"])


def test_mini_course_every_erratum_corrected_in_the_page_is_judged_fixed(mini, capsys):
    tally = Tally()
    start = time.perf_counter()
    fixes = [(b, f) for b in mini for f in erratum_fixes(b)]
    # the planted errata that read numbers: H in bits (error), -ln 0.1 (rounding), the smoothed target
    # (convention, four cells)
    assert {(f[0], b.rep(f[0]).example.claims[f[1]].label) for b, f in fixes} == {
        ("minicourse.biased_coin", "H in bits"), ("minicourse.rare_token", "-ln 0.1"),
        ("minicourse.four_classes", "smoothed target")}
    for base, (ex_id, i, changes) in fixes:
        fix(base, ex_id, i, changes, tally)
    tally.seconds = time.perf_counter() - start
    _say(capsys, tally.figure("mini-course errata fixed"))
    assert not tally.failures, "\n".join(tally.failures)


def test_shifted_keeps_the_printed_form():
    assert shifted("0.258", 3) == "0.261" and shifted("0.258", -3) == "0.255"
    assert shifted("0.998", 3) == "1.001" and shifted("7", 3) == "10" and shifted("0", 3) == "3"
    assert shifted("-0.5", 3) == "-0.8" and shifted("0.02", -3) is None and shifted("-0.3", -3) is None
    assert shifted("1,000", 3) == "1,003" and shifted("9,999", 3) == "10,002" and shifted("1{,}024", 3) == "1{,}027"
    assert shifted("2.5e-4", 3) == "2.8e-4" and shifted("1e9", 3) == "4e9"


# ---------------------------------------------------------------- the real pages: --course


@pytest.fixture(scope="module")
def course_bases(course_dir, tmp_path_factory) -> list[PageBase]:
    examples = load_all_examples()
    work = tmp_path_factory.mktemp("course_mutation")
    pages = sorted({ex.page for ex in examples})
    return [page_base(Path(course_dir), p, examples, work) for p in pages]


def _course_targets(bases: list[PageBase]) -> list[tuple[PageBase, Target]]:
    return [(b, t) for b in bases for t in b.targets()]


def _sweep(bases, targets, capsys, title: str) -> Tally:
    tally = Tally()
    tally.unjudgeable = [u for b in bases for u in b.unjudgeable()]
    start = time.perf_counter()
    for base, t in targets:
        mutate(base, t, tally)
    tally.seconds = time.perf_counter() - start
    _say(capsys, tally.figure(title) + (f"; {tally.known()}" if tally.known() else ""))
    return tally


def test_course_pages_judged_alone_agree_with_the_whole_course(course_bases, course_dir):
    """The per-page builds the sweep compares against judge as the whole course's report does."""
    whole = report.build(Path(course_dir))
    verdicts = {(r.example.id, i): (x.verdict, r.page_lines.get(i)) for r in whole for i, x in enumerate(r.results)}
    alone = {(r.example.id, i): (x.verdict, r.page_lines.get(i)) for b in course_bases for r in b.reps
             for i, x in enumerate(r.results)}
    assert alone == verdicts
    assert sum(len(b.targets()) for b in course_bases) >= 250


def test_course_sample_of_mutations_is_judged_at_its_own_slot(course_bases, capsys):
    targets = _course_targets(course_bases)
    sample = random.Random(SEED).sample(targets, min(SAMPLE, len(targets)))
    tally = _sweep(course_bases, sample, capsys, f"course mutation sample (seed {SEED})")
    assert not tally.failures, tally.figure("sample") + "\n" + "\n".join(tally.failures)


def test_course_sample_of_errata_corrected_is_judged_fixed(course_bases, capsys):
    fixes = [(b, f) for b in course_bases for f in erratum_fixes(b)]
    tally = Tally()
    start = time.perf_counter()
    for base, (ex_id, i, changes) in random.Random(SEED).sample(fixes, min(FIX_SAMPLE, len(fixes))):
        fix(base, ex_id, i, changes, tally)
    tally.seconds = time.perf_counter() - start
    _say(capsys, tally.figure("course errata fixed (sample)"))
    assert not tally.failures, "\n".join(tally.failures)


def test_course_inputs_the_recipe_refuses_are_reported_not_raised(course_bases):
    tally = Tally()
    targets = [(b, t) for b, t in _course_targets(course_bases) if refused(b, t)]
    if not targets:
        pytest.skip("no input of the pages is refused by its recipe when changed alone")
    _refused_inputs_are_reported(targets, tally)
    assert not tally.failures, "\n".join(tally.failures)


def _anchored_input_targets(bases) -> list[tuple[PageBase, Target]]:
    """Input numbers of the pages that a text claim of the same example holds in its anchor or printed text."""
    out = []
    for base, t in _course_targets(bases):
        for ex_id, key, _ in t.readers:
            if not isinstance(key, tuple):
                continue
            rep = base.rep(ex_id)
            if any(not c.slotted and _anchored_on(c, rep.page_lines.get(i), {t.number.ordinal: ""}, base.model)
                   for i, c in enumerate(rep.example.claims)):
                out.append((base, t))
                break
    return out


def test_course_text_claims_anchored_on_an_input_are_rejudged_when_it_changes(course_bases, capsys):
    targets = [(b, t) for b, t in _anchored_input_targets(course_bases) if not refused(b, t)]
    if not targets:
        pytest.skip("no text claim of the pages is anchored on an input's printed number")
    tally = _sweep(course_bases, targets, capsys, "input numbers held by a text claim's anchor")
    assert not tally.failures, "\n".join(tally.failures)
    assert not tally.anchored, "\n".join(tally.anchored)


def _full_sweep_asked(config) -> bool:
    """The full sweeps (about 700 edited pages, a minute or two) run when slow tests are asked for by name
    (``-m slow``); the default run checks a seeded sample of them."""
    expr = config.getoption("-m") or ""
    return "slow" in expr and "not slow" not in expr


@pytest.fixture
def full_sweep(request):
    if not _full_sweep_asked(request.config):
        pytest.skip("the full sweep runs with -m slow (the default run checks a seeded sample)")


@pytest.mark.slow
@pytest.mark.usefixtures("full_sweep")
def test_course_every_read_number_mutated_is_judged_at_its_own_slot(course_bases, capsys):
    tally = _sweep(course_bases, _course_targets(course_bases), capsys, "course mutation sweep (all)")
    assert not tally.failures, tally.figure("full sweep") + "\n" + "\n".join(tally.failures)


@pytest.mark.slow
@pytest.mark.usefixtures("full_sweep")
def test_course_every_erratum_corrected_is_judged_fixed(course_bases, capsys):
    tally = Tally()
    start = time.perf_counter()
    for base in course_bases:
        for ex_id, i, changes in erratum_fixes(base):
            fix(base, ex_id, i, changes, tally)
    tally.seconds = time.perf_counter() - start
    _say(capsys, tally.figure("course errata fixed (all)"))
    assert not tally.failures, "\n".join(tally.failures)
