"""Every printed number accounted for: a judged claim, an input read from the page, or declared unjudged.

The numbers that count (:func:`counted`) are every value number in a worked-example box (an ``example``
admonition, or a section whose heading says "Worked Example") and every number printed right after ``=``
or ``≈`` in the running text; indices (``\\lambda_3``, ``h_{t-1}``) are not values and do not count.

A number is accounted for when a claim reads it (its slot), an input is read from it, or a record of
``unjudged`` numbers names it with a reason (a year, a parameter count quoted from a paper, a count in
prose that no equation computes). Those records live beside the worked examples, one file per page::

    # worked_examples/<topic>/unjudged.yaml
    page: attention_math.md
    numbers:
      - {scope: "Numerical Demo", before: 'imagineadding', count: 1, reason: "a thought experiment's size"}
      - {scope: "Key Phrases to Use in Interviews", all: true, reason: "phrases, no arithmetic"}

``before``/``after``/``occurrence`` locate the first number as a claim's slot does; ``count`` numbers from
there are accounted; ``every: true`` accounts for every number of the scope that stands in that context
(labels such as "Step 1", "Step 2"); ``all: true`` accounts for every counted number of the scope (never of a worked
example box: those numbers are the example's own). A record that no longer finds its number is itself
reported, so a record cannot silently outlive the text it describes.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmverify.course.locate import Missing, Slot, locate, scope_lines
from lmverify.course.model import Number, Page, normal_title
from lmverify.printed import WorkedExampleError

_AFTER_RELATION = ("=", "\\approx", "=(", "\\approx(", "=[", "\\approx[", "=-", "\\approx-")


def example_ranges(page: Page) -> list[tuple[int, int, str]]:
    """The worked-example boxes of a page (and sections titled "Worked Example"), as (first, last, title)."""
    out = [(b.line, b.end, b.title) for b in page.boxes if b.kind == "example"]
    out += [(s.line, s.end, s.title) for s in page.sections if "worked example" in s.title.lower()]
    return sorted(out)


def after_relation(page: Page, n: Number) -> bool:
    return page.blocks[n.block].reading.endswith(_AFTER_RELATION, 0, n.offset)


def _in_ranges(ranges: list[tuple[int, int, str]]):
    """A test of "line lies in one of ``ranges``" that costs a bisection, not a pass over the ranges."""
    merged: list[list[int]] = []
    for a, b, _ in sorted(ranges):
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    starts = [a for a, _ in merged]

    def inside(line: int) -> bool:
        k = bisect.bisect_right(starts, line) - 1
        return k >= 0 and line <= merged[k][1]

    return inside


def counted(page: Page) -> list[Number]:
    """The page's numbers that must be accounted for (see the module's docstring)."""
    in_example = _in_ranges(example_ranges(page))
    out = []
    for n in page.numbers:
        if n.index or page.blocks[n.block].kind == "heading":
            continue
        if in_example(n.line) or after_relation(page, n):
            out.append(n)
    return out


@dataclass(frozen=True)
class Unjudged:
    page: str
    scope: str
    reason: str
    before: str = ""
    after: str = ""
    occurrence: int | None = None
    count: int = 1
    all: bool = False
    every: bool = False
    where: str = ""


def load_unjudged(root: Path, only: Path | None = None) -> dict[str, list[Unjudged]]:
    """Every ``<root>/<topic>/unjudged.yaml`` (or only the file ``only``), by page (a malformed file is a
    named error)."""
    import yaml

    from lmverify import safeyaml

    out: dict[str, list[Unjudged]] = {}
    for path in ([Path(only)] if only is not None else sorted(Path(root).glob("*/unjudged.yaml"))):
        try:
            data = safeyaml.load(path.read_text(encoding="utf-8"), path)
        except yaml.YAMLError as exc:
            raise WorkedExampleError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("page"), str) or \
                not isinstance(data.get("numbers"), list):
            raise WorkedExampleError(f"{path}: expected 'page' (a page name) and 'numbers' (a list of records)")
        for i, raw in enumerate(data["numbers"]):
            where = f"{path}: numbers[{i}]"
            if not isinstance(raw, dict):
                raise WorkedExampleError(f"{where}: expected a mapping, got {raw!r}")
            unknown = set(raw) - {"scope", "before", "after", "occurrence", "count", "all", "every", "reason"}
            if unknown:
                raise WorkedExampleError(f"{where}: unknown keys {sorted(unknown)}")
            if not isinstance(raw.get("reason"), str) or not raw["reason"].strip():
                raise WorkedExampleError(f"{where}: key 'reason' is required: why the number is not judged")
            if not isinstance(raw.get("scope", ""), str):
                raise WorkedExampleError(f"{where}: key 'scope' must be a box or section title")
            if not raw.get("all") and not isinstance(raw.get("before"), str):
                raise WorkedExampleError(f"{where}: give 'before' (the context of the first number) or 'all: true'")
            count = raw.get("count", 1)
            if not isinstance(count, int) or isinstance(count, bool) or count < 1:
                raise WorkedExampleError(f"{where}: key 'count' must be a whole number of 1 or more, got {count!r}")
            out.setdefault(data["page"], []).append(Unjudged(
                data["page"], raw.get("scope", ""), raw["reason"], raw.get("before", ""), raw.get("after", ""),
                raw.get("occurrence"), count, bool(raw.get("all")), bool(raw.get("every")), where))
    return out


@dataclass
class PageAccount:
    page: str
    counted: list[Number]
    how: dict[int, str] = field(default_factory=dict)  # ordinal -> claim / input / unjudged: reason
    stale: list[str] = field(default_factory=list)  # unjudged records that find no number

    @property
    def unaccounted(self) -> list[Number]:
        return [n for n in self.counted if n.ordinal not in self.how]

    @property
    def accounted(self) -> int:
        return len(self.counted) - len(self.unaccounted)


def account(page: Page, reports: list[Any], unjudged: list[Unjudged]) -> PageAccount:
    """How each counted number of ``page`` is accounted for, given the example reports of that page (their
    ``located`` numbers) and the page's unjudged records."""
    acc = PageAccount(page.name, counted(page))
    for rep in reports:
        for key, numbers in rep.located.items():
            what = f"input {key[1]} of {rep.example.id}" if isinstance(key, tuple) else \
                f"claim {rep.example.claims[key].label} of {rep.example.id}"
            for n in numbers:
                acc.how.setdefault(n.ordinal, what)
    boxes = example_ranges(page)
    for u in unjudged:
        if u.all:
            first, last, how = scope_lines(page, u.scope)
            if how == "page" or normal_title(u.scope) != normal_title(_title_at(page, first)):
                acc.stale.append(f"{u.where}: scope {u.scope!r} not found in {page.name}")
                continue
            if any(a <= first <= b or first <= a <= last for a, b, _ in boxes):
                acc.stale.append(f"{u.where}: 'all' cannot cover a worked example ({u.scope!r}): its numbers are "
                                 f"the example's own; record them one by one")
                continue
            for n in page.numbers_in(first, last):
                acc.how.setdefault(n.ordinal, f"unjudged: {u.reason}")
            continue
        if u.every:
            from lmverify.course.locate import candidates, normal_context

            first, last, _ = scope_lines(page, u.scope)
            hits = candidates(page, first, last, normal_context(u.before), normal_context(u.after))
            if not hits:
                acc.stale.append(f"{u.where}: context {u.before!r} not found in {u.scope!r}")
            for n in hits:
                acc.how.setdefault(n.ordinal, f"unjudged: {u.reason}")
            continue
        found = locate(page, Slot(u.scope, u.before, u.after, u.occurrence), u.count)
        if isinstance(found, Missing):
            acc.stale.append(f"{u.where}: {found}")
            continue
        for n in found.numbers:
            acc.how.setdefault(n.ordinal, f"unjudged: {u.reason}")
    return acc


def _title_at(page: Page, line: int) -> str:
    for b in page.boxes:
        if b.line == line:
            return b.title
    for s in page.sections:
        if s.line == line:
            return s.title
    return ""


def numbers_listing(page: Page, acc: PageAccount, reports: list[Any], *, show_all: bool = False) -> str:
    """For an author: each counted number of the page not yet accounted for (or every counted number), with
    its line, its box, the context a record would use, and the quantities of the page's examples that it
    equals at its printed precision (candidates for a claim or an input)."""
    from lmverify.course.locate import unique_context
    from lmverify.printed import judge_number, parse_printed

    import numpy as np

    values = []  # (example id, quantity, index, value, the example's scope)
    for rep in reports:
        first_ex, last_ex, _ = scope_lines(page, rep.example.section)
        from lmverify.worked import compute

        try:
            q = compute(rep.example, "numpy")
        except Exception:  # noqa: BLE001 - a listing helps the author even when a recipe fails
            continue
        for name, v in q.items():
            if isinstance(v, (str, bool)):
                continue
            arr = np.asarray(v, dtype=np.float64)
            if arr.size > 64:
                continue
            for idx in np.ndindex(arr.shape):
                values.append((rep.example.id, name, list(idx), float(arr[idx]), first_ex, last_ex))
    out = [f"# {page.name}: {acc.accounted} of {len(acc.counted)} printed numbers accounted for", ""]
    for n in acc.counted if show_all else acc.unaccounted:
        box = page.box_at(n.line)
        holder = box or page.section_at(n.line)
        first, last = (holder.line, holder.end) if holder else (1, len(page.lines))
        b, a, occ = unique_context(page, n, first, last, min_len=12)
        before, after = page.context(n, 30, 12)
        try:
            printed = parse_printed(n.text if ("." in n.text or "e" in n.text.lower()) else int(n.text.replace(",", "")), "")
            near = [m for m in values if m[4] <= n.line <= m[5]] or values
            matches = [f"{ex}:{name}{idx if idx else ''}" for ex, name, idx, v, *_ in near
                       if judge_number(printed, v) == "correct"][:4]
        except (WorkedExampleError, ValueError):
            matches = []
        status = acc.how.get(n.ordinal, "UNACCOUNTED")
        out.append(f"- line {n.line} [{holder.title if holder else ''}] {before}[{n.text}]{after}")
        out.append(f"    {status}; record: {{scope: {holder.title if holder else ''!r}, before: {b!r}"
                   + (f", after: {a!r}" if a else "") + (f", occurrence: {occ}" if occ is not None else "") + "}"
                   + (f"; equals {', '.join(matches)}" if matches else ""))
    for s in acc.stale:
        out.append(f"- stale record: {s}")
    return "\n".join(out) + "\n"
