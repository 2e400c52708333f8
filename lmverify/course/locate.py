"""Locating: where a record says a number stands, read from the page model, never by the number itself.

A record names a scope (the example's box or section, by title) and a *context with a slot*: the reading
just before the number (``before``, numbers in it written ``#``), optionally the reading right after it
(``after``), and an ``occurrence`` when the same context stands more than once in the scope. The page says
what is claimed: the number in the slot is read and judged, whatever it is now. A vector or matrix is read
as that many numbers from the slot on.

The outcome is a :class:`Found` (the numbers read, their lines) or a :class:`Missing` (why, and the
nearest candidate): a claim that is missing is never judged, never correct.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from lmverify.course.model import SLOT, Number, Page, normal_math, normal_text


def normal_context(text: str) -> str:
    """A record's context as the model reads pages: math delimiters dropped, text and math normalised."""
    s = text.replace("\\\\(", "").replace("\\\\)", "").replace("\\(", "").replace("\\)", "")
    s = s.replace("\\\\[", "").replace("\\\\]", "").replace("\\[", "").replace("\\]", "")
    s = s.replace("$", "")
    return normal_math(normal_text(s)) if not _has_math_escapes(s) else normal_math(_text_marks_only(s))


def _has_math_escapes(s: str) -> bool:
    return "\\" in s


def _text_marks_only(s: str) -> str:
    from lmverify.course.model import _QUOTES, _TEXT_MARKS

    return _TEXT_MARKS.sub("", s.translate(_QUOTES))


@dataclass(frozen=True)
class Slot:
    """Where a number stands: the scope's title, the context before (and after) it, which occurrence."""

    scope: str
    before: str
    after: str = ""
    occurrence: int | None = None

    @property
    def key_before(self) -> str:
        return normal_context(self.before)

    @property
    def key_after(self) -> str:
        return normal_context(self.after)

    def describe(self) -> str:
        s = f"'{self.before}#{self.after}'"
        return s + (f" (occurrence {self.occurrence})" if self.occurrence is not None else "")


@dataclass(frozen=True)
class Found:
    numbers: tuple[Number, ...]
    scope_how: str  # title | resembling | page

    @property
    def line(self) -> int:
        return self.numbers[0].line

    @property
    def texts(self) -> list[str]:
        return [n.text for n in self.numbers]


@dataclass(frozen=True)
class Missing:
    reason: str
    candidate: tuple[int, str] | None = None  # (line, the reading there) that most resembles the context

    def __str__(self) -> str:
        near = f"; nearest candidate: line {self.candidate[0]} ({self.candidate[1]})" if self.candidate else ""
        return self.reason + near


def scope_lines(page: Page, title: str) -> tuple[int, int, str]:
    """The lines of the record's scope: its box or section (by title, or the most resembling title), or
    the whole page when no title resembles it."""
    found = page.find_scope(title) if title else None
    if found is None:
        return 1, len(page.lines), "page"
    return found


def candidates(page: Page, first: int, last: int, before: str, after: str) -> list[Number]:
    """The value numbers of lines first..last whose reading ends with ``before`` just before the slot
    and starts with ``after`` just after it."""
    found = page.numbers_before(before, first, last)  # the page's context index: built once per page
    if after:
        found = [n for n in found if page.blocks[n.block].reading.startswith(after, n.offset + 1)]
    return found


def following(page: Page, start: Number, count: int) -> list[Number]:
    """``count`` value numbers from ``start`` on, in reading order (indices skipped), within its block."""
    out = []
    for n in page.blocks[start.block].numbers[start.ordinal - page.blocks[start.block].numbers[0].ordinal:]:
        if n.block != start.block:
            break
        if not n.index:
            out.append(n)
        if len(out) == count:
            break
    return out


#: a title reworded rather than replaced: the most resembling title at least this close (difflib ratio) ...
RENAMED_RATIO = 0.85
#: ... and every other title of the page at least this much further from the record's
RENAMED_MARGIN = 0.15


def _renamed(page: Page, title: str) -> bool:
    best, second = page.title_resemblance(title)
    return best >= RENAMED_RATIO and best - second >= RENAMED_MARGIN


def locate(page: Page, slot: Slot, count: int = 1) -> Found | Missing:
    """The ``count`` numbers the page prints at ``slot`` (see the module's docstring)."""
    first, last, how = scope_lines(page, slot.scope)
    before, after = slot.key_before, slot.key_after
    whole = (1, len(page.lines))
    if how == "title" and len(page.exact_scopes(slot.scope)) > 1:
        # several boxes of the same title ("In Plain English"): the one whose text holds the context
        holding = [(a, b) for a, b in page.exact_scopes(slot.scope) if candidates(page, a, b, before, after)]
        if len(holding) == 1:
            first, last = holding[0]
        elif len(holding) > 1:
            return Missing(f"{len(holding)} boxes or sections are titled '{slot.scope}' and the context "
                           f"{slot.describe()} stands in each (lines {', '.join(str(a) for a, _ in holding)}): "
                           f"which one the record means cannot be told")
    found = candidates(page, first, last, before, after)
    if how == "resembling":
        # the title is not on the page as recorded (renamed, or gone): the context decides, page-wide; the
        # resembling box or section only breaks a tie when every place of the context lies inside it
        wide = candidates(page, *whole, before, after)
        if len(wide) == 1:
            found, how = wide, "page"
        elif wide and all(first <= n.line <= last for n in wide):
            found = wide
        elif wide and len(inside := [n for n in wide if first <= n.line <= last]) == 1 \
                and _renamed(page, slot.scope):
            # a heading reworded (a comma for "with"), not replaced: its box or section is the record's, and
            # the context stands once inside it
            found = inside
        elif wide:
            where = ", ".join(str(n.line) for n in wide[:6])
            return Missing(f"the box or section '{slot.scope}' is not on the page as recorded, and the context "
                           f"{slot.describe()} stands {len(wide)} times elsewhere (lines {where}): which one the "
                           f"record means cannot be told", (wide[0].line, _shown(page, wide[0])))
        else:
            found = []
    elif not found and how == "title":
        # the number moved out of its box or section: the context alone, on the whole page, if unique
        wide = candidates(page, *whole, before, after)
        if len(wide) == 1:
            found, how = wide, "page"
    if not found:
        return Missing(f"context {slot.describe()} not found in {_scope_words(slot, how)}",
                       nearest(page, first, last, before, after))
    if slot.occurrence is not None:
        if slot.occurrence >= len(found):
            return Missing(f"context {slot.describe()} stands {len(found)} time(s) in {_scope_words(slot, how)}, "
                           f"not {slot.occurrence + 1}", (found[-1].line, _shown(page, found[-1])))
        start = found[slot.occurrence]
    elif len(found) > 1 and len(_outside_boxes(page, found, first, last)) == 1:
        # the record's scope is a section: an aside added inside it (a tip box, a collapsible note) that
        # repeats the same words and number does not hide the section's own text
        start = _outside_boxes(page, found, first, last)[0]
    elif len(found) > 1:
        lines = ", ".join(str(n.line) for n in found[:6])
        return Missing(f"context {slot.describe()} is ambiguous: it stands {len(found)} times in "
                       f"{_scope_words(slot, how)} (lines {lines}); the record needs more context or an occurrence",
                       (found[0].line, _shown(page, found[0])))
    else:
        start = found[0]
    nums = following(page, start, count)
    if len(nums) < count:
        return Missing(f"at {slot.describe()} (line {start.line}) the page prints {len(nums)} number(s), "
                       f"not the {count} recorded", (start.line, _shown(page, start)))
    return Found(tuple(nums), how)


def _outside_boxes(page: Page, found: list[Number], first: int, last: int) -> list[Number]:
    """The numbers of ``found`` that stand in no box lying inside lines first..last (none when the scope is
    itself a box)."""
    if any(b.line == first and b.end == last for b in page.boxes):
        return []
    inner = [b for b in page.boxes if first <= b.line and b.end <= last]
    return [n for n in found if not any(b.line <= n.line <= b.end for b in inner)]


def _scope_words(slot: Slot, how: str) -> str:
    return "the page" if how == "page" else f"'{slot.scope}'"


def _shown(page: Page, n: Number, width: int = 50) -> str:
    r = page.blocks[n.block].reading
    return (r[max(0, n.offset - width):n.offset] + n.text + r[n.offset + 1:n.offset + 1 + 15]).replace(SLOT, "#")


def filled(page: Page, block: int) -> str:
    """A block's reading with its numbers written back in (for text claims: phrases, printed formulas)."""
    b = page.blocks[block]
    out, last = [], 0
    for n in b.numbers:
        out.append(b.reading[last:n.offset])
        out.append(n.text)
        last = n.offset + 1
    out.append(b.reading[last:])
    return "".join(out)


def locate_text(page: Page, scope: str, anchor: str, text: str | None) -> tuple[int, str] | Missing:
    """A text claim: the block of the scope whose reading holds ``anchor`` followed (within the block) by
    ``text`` (the claim's printed text, if any), compared as readings; (line, block reading) or Missing.
    Numbers in the anchor written ``#`` are slots (an input printed there may change)."""
    first, last, how = scope_lines(page, scope)
    a = normal_context(anchor)
    t = normal_context(text) if text else ""
    hits = []
    for k, b in enumerate(page.blocks):
        if b.end < first or b.line > last:
            continue
        f = filled(page, k)
        if SLOT in a:  # numbers in the anchor written as #: they are slots, whatever the page prints there
            i = b.reading.find(a)
            if i < 0 or (t and t not in f):
                continue
        else:
            i = f.find(a)
            if i < 0:
                continue
            if t and t not in f[i:] and not (t in f and a in t):
                continue
        hits.append((b, f, i))
    if not hits:
        return Missing(f"anchor {anchor!r}" + (f" with {text!r}" if text else "") + f" not found in "
                       f"{'the page' if how == 'page' else repr(scope)}")
    b, f, i = hits[0]
    # the line of the block on which the anchor stands
    line = b.line
    raw_lines = b.raw.split("\n")
    if len(raw_lines) > 1:
        for j in range(len(raw_lines)):
            if a[:12] in normal_context(" ".join(raw_lines[:j + 1])):
                line = b.line + j
                break
    return line, f


def nearest(page: Page, first: int, last: int, before: str, after: str) -> tuple[int, str] | None:
    """The number in the scope whose context most resembles the record's (where it most likely went)."""
    best = None
    want = before[-40:] + SLOT + after[:15]
    for n in page.numbers_in(first, last):
        if n.index:
            continue
        r = page.blocks[n.block].reading
        have = r[max(0, n.offset - len(before[-40:])):n.offset] + SLOT + r[n.offset + 1:n.offset + 1 + len(after[:15])]
        matcher = difflib.SequenceMatcher(None, want, have, autojunk=False)
        # quick_ratio() bounds ratio() from above: a number that cannot beat the best so far (or reach the 0.5
        # a candidate needs) is passed over without the full comparison; the first best still wins ties
        if matcher.quick_ratio() < 0.5 or (best is not None and matcher.quick_ratio() <= best[0]):
            continue
        score = matcher.ratio()
        if best is None or score > best[0]:
            best = (score, n)
    if best is None or best[0] < 0.5:
        return None
    return best[1].line, _shown(page, best[1])


def unique_context(page: Page, number: Number, first: int, last: int, *, min_len: int = 6,
                   max_len: int = 80) -> tuple[str, str, int | None]:
    """The shortest context (before, after, occurrence) that names ``number`` alone in lines first..last:
    the reading before its slot, grown to a word boundary; then the reading after; then an occurrence.
    What ``lmverify claims`` proposes and what records are written from."""
    r = page.blocks[number.block].reading
    start = number.offset
    ln = min(min_len, start)
    while True:
        b = r[start - ln:start]
        b = _to_boundary(r, start - ln, start)
        found = candidates(page, first, last, b, "")
        if len(found) == 1 or start - len(b) <= 0 or len(b) >= max_len:
            break
        ln = len(b) + 1
    if len(candidates(page, first, last, b, "")) == 1:
        return b, "", None
    tail = r[number.offset + 1:]
    for k in range(1, min(len(tail), 30) + 1):
        a = tail[:k]
        if len(candidates(page, first, last, b, a)) == 1:
            return b, a, None
    found = candidates(page, first, last, b, "")
    return b, "", found.index(number)


def _to_boundary(r: str, k: int, end: int) -> str:
    """The reading from ``k`` to ``end``, begun at the start of the word or command ``k`` falls in."""
    while k > 0 and (r[k - 1].isalnum() or r[k - 1] == "\\") and r[k].isalnum():
        k -= 1
    if k > 0 and r[k - 1] == "\\":
        k -= 1
    return r[k:end]
