"""Judging a worked example against what its page prints now.

With a course, the page is the source of truth: every input the record says the page prints is read from
the page (a changed input recomputes every claim that depends on it), and every claim's number is read
from its slot and judged (:mod:`lmverify.course.locate`). A claim whose context is gone is ``missing``:
never judged, never counted or shown as correct. Without a course, the transcribed inputs and the
recorded numbers are judged, as printed when the record was made.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lmverify.course.course import Course
from lmverify.course.locate import Found, Missing, Slot, locate
from lmverify.course.model import Page
from lmverify.pages import members_after_anchor, nearest_candidate
from lmverify.worked import Claim, ClaimResult, Example, WorkedExampleError, compute, judge

MISSING = "missing"


class RecipeError(WorkedExampleError):
    """A worked example whose recipe raised, or returned a non-finite value for a claim: the example cannot be
    judged (it is not an erratum of the page). The message names the recipe, the example and what went wrong;
    ``lmverify report`` reports it, judges the other examples and exits with EXIT_EXAMPLE, never "findings"."""


def _run_recipe(example: Example, run) -> dict:
    """``run()``'s quantities, or :class:`RecipeError` for a recipe that raised (any exception, the
    validation's named ones included) or returned NaN/inf for a claim whose printed number is finite."""
    try:
        quantities = run()
    except RecipeError:
        raise
    except Exception as exc:  # noqa: BLE001 - a recipe is the author's code: anything it raises is named here
        raise RecipeError(f"{example.path}: recipe {example.recipe} of example {example.id} raised "
                          f"{type(exc).__name__}: {exc}") from exc
    for claim in example.claims:
        v = quantities.get(claim.quantity)
        if v is None or isinstance(v, str):
            continue  # a missing quantity is judge()'s named error; text and members are not numbers
        try:
            arr = np.asarray(v, dtype=np.float64)
            if claim.index is not None:
                arr = arr[claim.index]
        except (TypeError, ValueError, IndexError):
            continue  # judge() names these
        if not np.all(np.isfinite(arr)) and "inf" not in str(claim.claimed).lower():
            what = "NaN" if np.isnan(arr).any() else "inf"
            raise RecipeError(f"{example.path}: recipe {example.recipe} of example {example.id} returned {what} "
                              f"for claim {claim.label} (quantity {claim.quantity!r}), which the page prints as "
                              f"{claim.claimed!r}")
    return quantities


@dataclass
class InputChange:
    name: str
    recorded: Any
    page: Any
    line: int


@dataclass
class ExampleReport:
    example: Example
    results: list[ClaimResult]
    page_lines: dict[int, int | None] = field(default_factory=dict)  # claim index -> line found in the page
    page_problems: dict[int, str] = field(default_factory=dict)  # claim index -> why it is missing
    cell_lines: dict[int, list[int]] = field(default_factory=dict)  # matrix claims: line of each printed row
    page_numbers: dict[int, str] = field(default_factory=dict)  # claim index -> the page's number, where it changed
    mismatches: list[str] = field(default_factory=list)  # recorded verdict != computed, on the recorded number
    input_changes: list[InputChange] = field(default_factory=list)
    input_problems: list[str] = field(default_factory=list)  # inputs the page no longer prints where recorded
    located: dict[int, tuple] = field(default_factory=dict)  # claim index -> the page's Number objects read

    @property
    def missing(self) -> list[int]:
        return [i for i, r in enumerate(self.results) if r.verdict == MISSING]


def missing_result(claim: Claim, why: str) -> ClaimResult:
    return ClaimResult(claim, MISSING, None, "", detail=why)


def slot_of(example: Example, spec: Any) -> Slot:
    if isinstance(spec, str):
        return Slot(example.section, spec)
    return Slot(spec.get("scope") or example.section, spec["before"], spec.get("after", ""), spec.get("occurrence"))


def read_inputs(example: Example, page: Page) -> tuple[dict[str, Any], list[InputChange], list[str], dict]:
    """The example's inputs as the page prints them now: (inputs, what changed, what could not be read,
    input name -> the Number objects read)."""
    inputs = dict(example.inputs)
    changes, problems, used = [], [], {}
    for name, spec in example.read.items():
        recorded = example.inputs[name]
        shape = np.shape(recorded)
        size = int(np.prod(shape)) if shape else 1
        specs = spec if isinstance(spec, list) else [spec]
        counts = [1] * len(specs) if isinstance(spec, list) else [size]
        texts, numbers = [], []
        for s, count in zip(specs, counts):
            found = locate(page, slot_of(example, s), count)
            if isinstance(found, Missing):
                problems.append(f"missing input {name}: {found} (the transcribed value is used)")
                break
            texts += found.texts
            numbers += list(found.numbers)
        else:
            values = [float(t.replace("{,}", "").replace(",", "")) for t in texts]
            value = np.reshape(values, shape).tolist() if shape else values[0]
            flat_old = np.asarray(recorded, dtype=np.float64).ravel()
            flat_new = np.asarray(values, dtype=np.float64)
            if not np.array_equal(flat_old, flat_new):
                first = int(np.flatnonzero(flat_old != flat_new)[0]) if flat_old.shape == flat_new.shape else 0
                changes.append(InputChange(name, recorded, value, numbers[first].line))
            inputs[name] = value
            used[name] = tuple(numbers)
    return inputs, changes, problems, used


def judge_example(example: Example, course: Course | None = None) -> ExampleReport:
    """Every claim of ``example`` judged: against its page when ``course`` is given (inputs and numbers read
    from the page), else against the record."""
    if course is None:
        quantities = _run_recipe(example, lambda: compute(example, "numpy"))
        return ExampleReport(example, [judge(c, quantities) for c in example.claims])
    page = course.page(example.page)
    inputs, changes, problems, used = read_inputs(example, page)
    current = dataclasses.replace(example, inputs=inputs) if changes else example
    rep = ExampleReport(example, [], input_changes=changes, input_problems=problems)
    rep.located.update({("input", k): v for k, v in used.items()})
    try:
        quantities = _run_recipe(current, lambda: _computed(current))
    except RecipeError as exc:
        if not changes:
            raise
        # the page's inputs are refused by the recipe (no longer a distribution, a shape that does not fit):
        # say so, and judge none of this example's claims rather than stop the whole report
        shown = "; ".join(f"{c.name} from {c.recorded} to {c.page} (line {c.line})" for c in changes)
        why = f"not judged: the recipe refuses the inputs the page prints now ({shown}): {exc}"
        rep.input_problems.append(f"inputs: {why}")
        for i, claim in enumerate(example.claims):
            rep.page_lines[i] = None
            rep.page_problems[i] = why
            rep.results.append(missing_result(claim, why))
        return rep
    for i, claim in enumerate(example.claims):
        rep.results.append(_judge_on_page(rep, i, claim, page, quantities))
    for i, r in enumerate(rep.results):
        if r.verdict != MISSING and i not in rep.page_numbers and not changes and r.verdict != r.claim.verdict:
            rep.mismatches.append(f"{r.claim.label}: recorded {r.claim.verdict}, computed {r.verdict}")
    return rep


_COMPUTED: dict[tuple, dict] = {}


def _computed(example: Example) -> dict:
    """The example's quantities on NumPy, computed once per recipe and inputs (recipes are deterministic:
    a page judged again, or many edited copies of it, do not rerun a Monte Carlo demo each time)."""
    import json

    key = (str(example.path), example.recipe, json.dumps(example.inputs, sort_keys=True, default=str))
    if key not in _COMPUTED:
        if len(_COMPUTED) > 512:
            _COMPUTED.clear()
        _COMPUTED[key] = compute(example, "numpy")
    return dict(_COMPUTED[key])


def _judge_on_page(rep: ExampleReport, i: int, claim: Claim, page: Page, quantities: dict) -> ClaimResult:
    ex = rep.example
    if claim.slotted:
        found = locate(page, Slot(claim.scope or ex.section, claim.before, claim.after, claim.occurrence), claim.size)
        if isinstance(found, Missing):
            rep.page_lines[i] = None
            rep.page_problems[i] = str(found)
            return missing_result(claim, str(found))
        rep.located[i] = found.numbers
        rep.page_lines[i] = found.line
        texts = found.texts
        if isinstance(claim.claimed, list):
            shape = np.shape(np.asarray(claim.claimed, dtype=object))
            now = np.reshape(np.asarray(texts, dtype=object), shape).tolist()
            if len(shape) == 2:
                rep.cell_lines[i] = [found.numbers[r * shape[1]].line for r in range(shape[0])]
        else:
            now = int(texts[0]) if _is_int_text(texts[0]) and texts[0].lstrip("-").isdigit() else texts[0].replace("{,}", ",")
        if _texts(now) != _texts(claim.claimed):
            rep.page_numbers[i] = ", ".join(texts)
        try:
            return judge(dataclasses.replace(claim, claimed=now), quantities)
        except WorkedExampleError as exc:
            rep.page_problems[i] = f"the page prints {', '.join(texts)} here, which cannot be judged: {exc}"
            return missing_result(claim, rep.page_problems[i])
    # text claims (lists, phrases, counts of printed items): the anchor's text, inside the example's scope
    lines = _scoped_lines(page, claim.scope or ex.section)
    if claim.is_list:
        found = members_after_anchor(claim, lines)
        if found is None:
            why = f"anchor {claim.anchor!r} with a list after it not found in '{ex.section}'"
            return _missing_text(rep, i, claim, why, lines)
        line, members, text = found
        rep.page_lines[i] = line
        if [str(m).strip() for m in claim.claimed] != members:
            rep.page_numbers[i] = text
            return judge(dataclasses.replace(claim, claimed=members), quantities)
        return judge(claim, quantities)
    from lmverify.course.locate import locate_text

    shown = claim.printed if claim.printed is not None else (claim.claimed if isinstance(claim.claimed, str) else None)
    found = locate_text(page, claim.scope or ex.section, claim.anchor, shown)
    if isinstance(found, Missing):
        return _missing_text(rep, i, claim, str(found), lines)
    rep.page_lines[i] = found[0]
    return judge(claim, quantities)


def _missing_text(rep, i, claim, why, lines) -> ClaimResult:
    cand = nearest_candidate(claim.printed or f"{claim.anchor} {claim.claimed}", lines, claim.line)
    why = why + (f"; nearest candidate: line {cand[0]}" if cand else "")
    rep.page_lines[i] = None
    rep.page_problems[i] = why
    return missing_result(claim, why)


def _scoped_lines(page: Page, title: str) -> list[str]:
    """The page's lines with everything outside the example's scope blanked (line numbers kept)."""
    from lmverify.course.locate import scope_lines

    first, last, _ = scope_lines(page, title)
    return [ln if first <= k <= last else "" for k, ln in enumerate(page.lines, 1)]


def _hint(page: Page, title: str, line: int) -> int:
    """A text claim's recorded line, moved into its scope when the scope moved (a tie-breaker only)."""
    from lmverify.course.locate import scope_lines

    first, last, _ = scope_lines(page, title)
    return line if first <= line <= last else first


def _is_int_text(t: str) -> bool:
    s = t.replace("{,}", "").replace(",", "").lstrip("-")
    return s.isdigit()


def _texts(v: Any) -> Any:
    if isinstance(v, list):
        return [_texts(x) for x in v]
    return str(v).replace("{,}", "").replace(",", "").strip()


def counts(reports: list[ExampleReport]) -> dict[str, int]:
    out: dict[str, int] = {}
    for rep in reports:
        for r in rep.results:
            out[r.verdict] = out.get(r.verdict, 0) + 1
    return out


__all__ = ["ExampleReport", "InputChange", "MISSING", "judge_example", "read_inputs", "Found", "Missing"]
