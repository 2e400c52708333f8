"""Marks on a rendered course page: where each judged number sits, and the HTML that marks it.

Where a number sits comes from the page model (:mod:`lmverify.course.model`): its line, and which number of
that line it is. Its column is found by reading the source line with the model's own number reader
(``numbers_in``, the math-span segmentation and the scientific-notation rule of ``read_inline``), and is
used only when that reading of the line gives exactly the numbers the model has on it, in order; otherwise
the number is not marked in place (it is still listed in the page's summary box). A wrong place is worse
than none.

Math spans are rendered by MathJax from arithmatex's output, where HTML cannot go: a number in inline math
is marked right after its span, a number in displayed math in a line of its own right after the display,
any other number right after its text (after the code span, when it sits in one). Nothing here imports
MkDocs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lmverify.course import model as _model
from lmverify.course.findings import Erratum, errata
from lmverify.course.judging import MISSING
from lmverify.course.model import Number, Page

#: the words a mark shows for each verdict (readable without colour)
BADGE = {"error": "erratum", "rounding": "rounding erratum", "convention": "convention erratum",
         "carried": "carried rounding"}
ERRATA = ("error", "rounding", "convention")


@dataclass
class Mark:
    """One judged number (or text claim) that is not simply correct."""

    page: str
    line: int | None
    number: Number | None  # None: a text claim (a list, a phrase), marked at the end of its line
    verdict: str  # error | rounding | convention | carried
    label: str
    claimed: str
    correct: str
    explanation: str
    example: str
    accepted: bool = False  # an erratum in the baseline (or of a kind the gate does not fail on)
    erratum: Erratum | None = None
    ident: str = ""  # the HTML id of the mark, once placed
    placed: bool = False
    apart: bool = False  # placed away from its number (after a display, at the end of a line): names the claim

    @property
    def badge(self) -> str:
        name = f" {self.label}" if self.apart else ""
        if self.verdict == "carried":
            return f"{BADGE['carried']}{name}: {self.claimed} (exact {self.correct})"
        return f"{BADGE.get(self.verdict, self.verdict)}{name}: {self.claimed} \u2192 {self.correct}"

    @property
    def tooltip(self) -> str:
        what = (f"{self.verdict}: {self.label}: printed {self.claimed}, correct {self.correct}."
                if self.verdict in ERRATA else f"carried rounding: {self.label}: printed {self.claimed}, "
                f"correct to the printed places {self.correct}; not an erratum.")
        tail = " Accepted (in the baseline)." if self.accepted and self.verdict in ERRATA else ""
        return f"{what} {self.explanation}{tail} (lmverify, worked example {self.example}, line {self.line})"


def page_marks(reports, page: str, accepted: list[Erratum]) -> list[Mark]:
    """The marks of ``page``: every erratum (one per wrong number; a matrix claim one per wrong cell) and every
    carried rounding of the reports' claims on that page, with the number the claim read from the page.
    ``accepted``: the findings in the baseline."""
    found = {(e.page, e.example, e.what, e.claimed): e for e in errata([r for r in reports if r.example.page == page])}
    marks = []
    for rep in reports:
        ex = rep.example
        if ex.page != page:
            continue
        for i, r in enumerate(rep.results):
            if r.verdict in ("correct", MISSING) and not r.wrong_cells:
                continue
            numbers = rep.located.get(i) or ()
            line = rep.page_lines.get(i)
            if r.cells and r.wrong_cells:
                shape = np.shape(np.asarray(r.claim.claimed, dtype=object)) if isinstance(r.claim.claimed, list) else ()
                for cell in r.wrong_cells:
                    idx = ", ".join(map(str, cell.index))
                    e = found.get((ex.page, ex.id, f"{r.claim.label}[{idx}]", cell.claimed))
                    number = None
                    if shape and len(numbers) == int(np.prod(shape)) and len(cell.index) == len(shape):
                        number = numbers[int(np.ravel_multi_index(cell.index, shape))]
                    marks.append(_mark(page, ex.id, f"{r.claim.label}[{idx}]", cell.verdict, cell.claimed, cell.correct,
                                       number, e.line if e else line, e, accepted,
                                       r.claim.explanation or r.detail or ""))
                continue
            if r.verdict == "carried":
                marks.append(Mark(page, line, numbers[0] if len(numbers) == 1 else None, "carried", r.claim.label,
                                  str(numbers[0].text if len(numbers) == 1 else r.claim.claimed), r.correct_text,
                                  r.detail or r.claim.explanation or "", ex.id))
                continue
            e = next((x for (pg, exid, what, _), x in found.items() if exid == ex.id and what == r.claim.label), None)
            marks.append(_mark(page, ex.id, r.claim.label, r.verdict, e.claimed if e else str(r.claim.claimed),
                               e.correct if e else r.correct_text, numbers[0] if len(numbers) == 1 else None,
                               e.line if e else line, e, accepted, r.claim.explanation or r.detail or ""))
    return marks


def _mark(page, example, label, verdict, claimed, correct, number, line, e, accepted, fallback) -> Mark:
    return Mark(page, line, number, verdict, label, str(claimed), str(correct),
                e.explanation if e is not None else fallback, example,
                accepted=e is not None and e in accepted, erratum=e)


# -- where a number sits ------------------------------------------------------------------------------

@dataclass
class _Seen:
    text: str
    start: int
    end: int
    kind: str  # text | math | display
    span_end: int  # the end of its math span (after the closing delimiter); for text: end


def read_line(line: str, in_display: bool) -> list[_Seen]:
    """The numbers of one source line as the page model reads them, with their columns. ``in_display``: the
    line lies inside a displayed equation (its delimiters on other lines)."""
    segments = _model._segments(line)
    if in_display and not any(kind != "text" for _, _, kind, _ in segments):
        segments = [(0, len(line), "display", False)]
    out = []
    for start, end, kind, _doubled in segments:
        piece = line[start:end]
        in_math = kind != "text"
        close = end
        if in_math and end < len(line):
            for delim in ("\\\\)", "\\\\]", "\\)", "\\]", "$$"):
                if line.startswith(delim, end):
                    close = end + len(delim)
                    break
        last = 0
        for m in _model.numbers_in(piece, in_math):
            if m.start() < last:
                continue
            text = m.group(0).replace("\u2212", "-")
            stop = m.end()
            sci = _model._SCIENTIFIC.match(piece, stop) if in_math and "e" not in text.lower() else None
            if sci is not None:
                text, stop = f"{text}e{(sci.group(1) or sci.group(2)).replace(chr(0x2212), '-')}", sci.end()
            out.append(_Seen(text, start + m.start(), start + stop, kind, close if in_math else start + stop))
            last = stop
    return out


def _display_at(page: Page, line: int):
    return next((m for m in page.math if m.display and m.line <= line <= m.end), None)


def _after_code_span(line: str, col: int) -> int:
    """``col``, or the end of the code span it falls in."""
    if line[:col].count("`") % 2 == 1:
        nxt = line.find("`", col)
        return nxt + 1 if nxt >= 0 else len(line)
    return col


# -- the HTML ------------------------------------------------------------------------------------------

_ENTITY = {c: f"&#{ord(c)};" for c in "\\`*_{}[]()<>#+-!|$~^&\"'"}


def text(s: str) -> str:
    """Text that Markdown, arithmatex and HTML all leave as it is: their special characters as numeric
    entities (a backslash never starts math, an asterisk never emphasis, a bar never splits a table cell)."""
    return "".join(_ENTITY.get(c, c) for c in str(s).replace("\n", " "))


def mark_html(m: Mark) -> str:
    """A focusable text badge with its explanation as a tooltip (shown on hover and on keyboard focus,
    and named by ``aria-describedby``). ``data-search-exclude`` keeps it out of the search index; its parts
    are ``b`` and ``i``, not nested ``span``s, because Material's search parser ends an exclusion at the
    first closing tag of the same name."""
    kind = "lmv-carried" if m.verdict == "carried" else f"lmv-{m.verdict}"
    accepted = " lmv-accepted" if m.accepted and m.verdict in ERRATA else ""
    return (f'<span class="lmv {kind}{accepted}" id="{m.ident}" tabindex="0" role="note" data-search-exclude '
            f'aria-describedby="{m.ident}-tip"><b class="lmv-badge">{text(m.badge)}</b>'
            f'<i class="lmv-tip" role="tooltip" id="{m.ident}-tip">{text(m.tooltip)}</i></span>')


# -- placing the marks -----------------------------------------------------------------------------------

def place(source: str, page: Page, marks: list[Mark], prefix: str = "lmv") -> str:
    """The page's Markdown with each mark inserted where its number sits (see the module's docstring);
    ``Mark.placed`` and ``Mark.ident`` are set. ``source`` must be the text the page model was parsed from."""
    lines = source.split("\n")
    inline: dict[int, list[tuple[int, Mark]]] = {}  # line index -> (column, mark)
    after: dict[int, list[Mark]] = {}  # line index -> marks in a line of their own after it
    by_line: dict[int, list[Number]] = {}
    for n in page.numbers:
        by_line.setdefault(n.line, []).append(n)
    for k, m in enumerate(marks):
        m.ident = f"{prefix}-{k + 1}"
        if m.number is not None:
            n = m.number
            if page.blocks[n.block].kind == "heading" or not 1 <= n.line <= len(lines):
                continue
            display = _display_at(page, n.line)
            seen = read_line(lines[n.line - 1], display is not None)
            model = by_line.get(n.line, [])
            if [s.text for s in seen] == [x.text for x in model] and n in model:
                s = seen[model.index(n)]
                if s.kind == "math":
                    inline.setdefault(n.line - 1, []).append((s.span_end, m))
                elif s.kind == "text":
                    inline.setdefault(n.line - 1, []).append((_after_code_span(lines[n.line - 1], s.end), m))
                else:
                    after.setdefault(display.end - 1, []).append(m)
                    m.apart = True
                m.placed = True
            elif display is not None:
                after.setdefault(display.end - 1, []).append(m)
                m.placed = m.apart = True
        elif m.line is not None and 1 <= m.line <= len(lines):
            # a text claim: at the end of its line, when that line is running text (not a table, heading or math)
            blocks = [b for b in page.blocks if b.line <= m.line <= b.end]
            if blocks and all(b.kind == "paragraph" for b in blocks) and _display_at(page, m.line) is None \
                    and lines[m.line - 1].strip():
                inline.setdefault(m.line - 1, []).append((len(lines[m.line - 1].rstrip()), m))
                m.placed = m.apart = True
    for i in sorted(set(inline) | set(after), reverse=True):
        if i in after:
            indent = lines[i][:len(lines[i]) - len(lines[i].lstrip())]
            badges = "".join(mark_html(m) for m in after[i])
            j = _next_paragraph(page, lines, i)
            if not indent and page.box_at(i + 1) is None:
                # a block of its own (raw HTML is a block only at the top level of the page)
                lines[i + 1:i + 1] = ["", f'<div class="lmv-after-display" data-search-exclude>{badges}</div>', ""]
            elif j is not None:
                # inside a box or a list: at the start of the next paragraph, shown on a line of its own, so that
                # no paragraph is added (the search index keeps the page's text as it is)
                lines[j] = indent + f'<span class="lmv-after-display">{badges}</span>' + lines[j][len(indent):]
            else:
                lines[i + 1:i + 1] = ["", f'{indent}<span class="lmv-after-display">{badges}</span>', ""]
        if i in inline:
            row = lines[i]
            for col, group in sorted(_group(inline[i]).items(), reverse=True):
                row = row[:col] + "".join(mark_html(m) for m in group) + row[col:]
            lines[i] = row
    return "\n".join(lines)


def _next_paragraph(page: Page, lines: list[str], i: int) -> int | None:
    """The index of the line that starts the paragraph right after line index ``i`` (blank lines between),
    at the same indentation and inside the same box, or None."""
    indent = len(lines[i]) - len(lines[i].lstrip())
    j = i + 1
    while j < len(lines) and not lines[j].strip():
        j += 1
    if j >= len(lines) or len(lines[j]) - len(lines[j].lstrip()) != indent or page.box_at(j + 1) != page.box_at(i + 1):
        return None
    block = next((b for b in page.blocks if b.line == j + 1), None)
    if block is None or block.kind != "paragraph" or not block.raw.startswith(lines[j].strip()[:12]):
        return None
    return j


def _group(items: list[tuple[int, Mark]]) -> dict[int, list[Mark]]:
    out: dict[int, list[Mark]] = {}
    for col, m in items:
        out.setdefault(col, []).append(m)
    return out
