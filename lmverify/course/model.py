"""The page model: a course page parsed once, with a real Markdown parser, into what a reader sees.

The course is written for MkDocs with pymdownx.arithmatex (math ``\\(…\\)`` and ``\\[…\\]``), admonitions
(``!!!`` and collapsible ``???``), superfences, tables and ``md_in_html`` blocks. markdown-it-py (with the
admonition plugin of mdit-py-plugins, and tables) gives the block structure with its source line map;
``<div … markdown>`` wrappers are made transparent first, as ``md_in_html`` makes them. Each leaf block
(paragraph, heading, table cell, admonition title) is then read inline: its math spans (either escaping:
``\\(`` as arithmatex reads it, or ``\\\\(`` with every backslash doubled, as Markdown's escaping leaves
it for MathJax) and every printed number, each with its line.

What does not change what a reader sees does not change the model: delimiter escaping, emphasis marks,
curly or straight quotes, spacing and reflowed lines, ``≈`` or ``\\approx``, ``K^T`` or ``K^\\top``,
``\\left(`` or ``(``, ``\\dfrac`` or ``\\frac``. Each block carries its *reading*: that normalised text with
every number replaced by ``#``, and each number its offset in it, so a claim is found by the words and
symbols around a number, never by the number itself (see :mod:`lmverify.course.locate`).
"""

from __future__ import annotations

import bisect
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cached_property

SLOT = "#"  # a number's place in a reading


#: how many characters before a number's slot key the page's context index (:meth:`Page.numbers_before`)
CONTEXT_KEY = 4


@dataclass(frozen=True)
class Section:
    """A heading and the lines it governs (to the next heading of the same or a higher level)."""

    level: int
    title: str
    line: int
    end: int


@dataclass(frozen=True)
class Box:
    """An admonition (``!!! kind "title"``, or collapsible ``???``) and its lines."""

    kind: str
    title: str
    line: int
    end: int
    collapsible: bool = False


@dataclass(frozen=True)
class MathSpan:
    """A math span as MathJax receives it (backslashes un-doubled), inline or displayed."""

    latex: str
    display: bool
    line: int
    end: int


@dataclass(frozen=True)
class CodeFence:
    info: str
    code: str
    line: int  # the line of the first line of code
    end: int


@dataclass(frozen=True)
class Number:
    """One printed number: its text as printed (a minus sign as ``-``), its line, its block, where its
    slot stands in the block's reading, and what kind of number it is."""

    text: str
    line: int
    block: int
    offset: int  # index of its SLOT in the block's reading
    ordinal: int  # its position among the page's numbers
    in_math: bool
    index: bool  # a subscript (``\\lambda_3``, ``h_{t-1}``, ``\\log_2``): an index, not a value

    @property
    def value(self) -> Decimal:
        return Decimal(self.text.replace("{,}", "").replace(",", ""))


@dataclass
class Block:
    """A leaf block of the page and its reading."""

    kind: str  # paragraph | heading | cell | title
    line: int
    end: int
    reading: str
    numbers: list[Number] = field(default_factory=list)
    raw: str = ""


@dataclass
class Page:
    name: str
    text: str
    lines: list[str]
    sections: list[Section]
    boxes: list[Box]
    math: list[MathSpan]
    code: list[CodeFence]
    blocks: list[Block]
    numbers: list[Number]

    # -- scopes ------------------------------------------------------------------------------------
    @cached_property
    def _scopes(self) -> dict:
        return {}

    @cached_property
    def _titles(self) -> list[tuple[int, int, str]]:
        return [(b.line, b.end, normal_title(b.title)) for b in self.boxes] + \
               [(s.line, s.end, normal_title(s.title)) for s in self.sections]

    def find_scope(self, title: str) -> tuple[int, int, str] | None:
        """The lines (first, last) of the box or section whose title reads as ``title`` (normalised), or
        whose title most resembles it (a renamed heading: ratio >= 0.75), and how it was found
        (``title`` or ``resembling``); None when nothing resembles it."""
        if title in self._scopes:
            return self._scopes[title]
        self._scopes[title] = found = self._find_scope(title)
        return found

    def exact_scopes(self, title: str) -> list[tuple[int, int]]:
        """Every box and section whose title reads as ``title`` (a page can have several "In Plain English")."""
        want = normal_title(title)
        return sorted({(a, b) for a, b, t in self._titles if t == want})

    def _find_scope(self, title: str) -> tuple[int, int, str] | None:
        want = normal_title(title)
        if not want:
            return None
        scopes = self._titles
        exact = [(a, b) for a, b, t in scopes if t == want]
        if exact:
            a, b = min(exact, key=lambda s: s[1] - s[0])
            return a, b, "title"
        best = max(scopes, key=lambda s: difflib.SequenceMatcher(None, want, s[2], autojunk=False).ratio(),
                   default=None)
        if best is not None and difflib.SequenceMatcher(None, want, best[2], autojunk=False).ratio() >= 0.75:
            return best[0], best[1], "resembling"
        return None

    def title_resemblance(self, title: str) -> tuple[float, float]:
        """How much the page's most resembling box or section title resembles ``title`` (difflib ratio of the
        normalised titles), and how much the next distinct title does: a renamed heading stands out when
        the first is high and the second far below."""
        want = normal_title(title)
        ratios = sorted({t: difflib.SequenceMatcher(None, want, t, autojunk=False).ratio()
                         for _, _, t in self._titles}.values(), reverse=True)
        return (ratios[0] if ratios else 0.0), (ratios[1] if len(ratios) > 1 else 0.0)

    def numbers_in(self, first: int, last: int) -> list[Number]:
        """The numbers on lines first..last, in page order (a bisection: the numbers stand in line order)."""
        lines = self._number_lines
        if lines is None:
            return [n for n in self.numbers if first <= n.line <= last]
        return self.numbers[bisect.bisect_left(lines, first):bisect.bisect_right(lines, last)]

    @cached_property
    def _number_lines(self) -> list[int] | None:
        """The numbers' lines, for bisection; None if they are not in line order (then every lookup scans)."""
        lines = [n.line for n in self.numbers]
        return lines if all(a <= b for a, b in zip(lines, lines[1:])) else None

    @cached_property
    def _context_index(self) -> dict[str, list[Number]]:
        """The value numbers (no indices) by the last :data:`CONTEXT_KEY` characters of the reading before
        their slot, in page order: built once per page, so finding a context costs the numbers that end
        with the same few characters, not every number of the page."""
        index: dict[str, list[Number]] = {}
        for n in self.numbers:
            if not n.index:
                r = self.blocks[n.block].reading
                index.setdefault(r[max(0, n.offset - CONTEXT_KEY):n.offset], []).append(n)
        return index

    def numbers_before(self, before: str, first: int, last: int) -> list[Number]:
        """The value numbers of lines first..last whose reading ends with ``before`` just before their slot
        (``before`` as normalised text), in page order."""
        if len(before) >= CONTEXT_KEY:
            pool = [n for n in self._context_index.get(before[-CONTEXT_KEY:], ()) if first <= n.line <= last]
        else:
            pool = [n for n in self.numbers_in(first, last) if not n.index]
        if not before:
            return pool
        return [n for n in pool if self.blocks[n.block].reading.endswith(before, 0, n.offset)]

    def box_at(self, line: int) -> Box | None:
        inside = [b for b in self.boxes if b.line <= line <= b.end]
        return min(inside, key=lambda b: b.end - b.line) if inside else None

    def section_at(self, line: int) -> Section | None:
        inside = [s for s in self.sections if s.line <= line]
        return inside[-1] if inside else None

    @cached_property
    def displays(self) -> list[tuple[int, str]]:
        """The displayed equations as (line, LaTeX)."""
        return [(m.line, m.latex) for m in self.math if m.display]

    def context(self, number: Number, before: int = 40, after: int = 0) -> tuple[str, str]:
        """The reading around a number: up to ``before`` characters before its slot, ``after`` after."""
        r = self.blocks[number.block].reading
        return r[max(0, number.offset - before):number.offset], r[number.offset + 1:number.offset + 1 + after]


# -- normalisation -------------------------------------------------------------------------------

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2032": "'",
                         "\u2212": "-", "\u2013": "-", "\u00a0": " ", "\u202f": " ", "\u2009": " "})
_TEXT_SYMBOLS = (("≈", r"\approx"), ("×", r"\times"), ("·", r"\cdot"), ("≥", r"\ge"), ("≤", r"\le"),
                 ("→", r"\to"), ("∝", r"\propto"), ("≠", r"\ne"), ("∈", r"\in"), ("√", r"\sqrt"))
_MATH_RULES = (
    (re.compile(r"\\(?:,|;|!|:|quad\b|qquad\b|enspace\b|thinspace\b)|~"), ""),
    (re.compile(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|Biggl|Biggr|big|Big|bigg|Bigg)\b"), ""),
    (re.compile(r"\\[dt]frac\b"), r"\\frac"),
    (re.compile(r"\^\s*(?:\{\s*\\top\s*\}|\\top\b|\{\s*T\s*\}|\\intercal\b|\{\s*\\intercal\s*\})"), "^T"),
    (re.compile(r"\\(?:mathrm|operatorname|texttt|textrm|textnormal)\s*\{"), r"\\text{"),
    (re.compile(r"\\(?:boldsymbol|bm)\s*\{"), r"\\mathbf{"),
    (re.compile(r"\\lvert\b|\\rvert\b|\\vert\b"), "|"),
    (re.compile(r"\\lVert\b|\\rVert\b|\\Vert\b|\\\|"), r"\\|"),
    (re.compile(r"\\geq\b"), r"\\ge"), (re.compile(r"\\leq\b"), r"\\le"), (re.compile(r"\\neq\b"), r"\\ne"),
    (re.compile(r"\\rightarrow\b"), r"\\to"),
    (re.compile(r"\\displaystyle\b|\\textstyle\b"), ""),
)
_TEXT_MARKS = re.compile(r"\*\*|__|(?<!\\)\*|`|<[/]?(?:strong|em|b|i|code|span)[^>]*>")
_MD_ESCAPE = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\]^_`{|}~])")
_SPACE = re.compile(r"\s+")


def normal_math(latex: str) -> str:
    """LaTeX as a reader sees it: spacing, sizing and synonyms dropped or unified, no whitespace."""
    s = latex.translate(_QUOTES)
    for a, b in _TEXT_SYMBOLS:
        s = s.replace(a, b)
    for _ in range(4):  # to a fixed point: dropping a space can make a spacing command (``\ ,`` is ``\,``)
        t = s
        for pattern, repl in _MATH_RULES:
            s = pattern.sub(repl, s)
        s = _SPACE.sub("", s)
        if s == t:
            break
    return s


def normal_text(text: str) -> str:
    """Running text as a reader sees it: emphasis and code marks, quotes, escapes and spacing unified."""
    s = unicodedata.normalize("NFC", text).translate(_QUOTES)
    s = _TEXT_MARKS.sub("", s)
    s = _MD_ESCAPE.sub(r"\1", s)
    for a, b in _TEXT_SYMBOLS:
        s = s.replace(a, b)
    return _SPACE.sub("", s)


def normal_title(title: str) -> str:
    """A box or heading title for comparison: math un-doubled and normalised, emoji and case dropped."""
    s = _undouble_delimited(title)
    s = re.sub(r"\\[()\[\]]", "", s)
    s = "".join(c for c in s if unicodedata.category(c)[0] in "LNPSZ" and unicodedata.category(c) != "So")
    return normal_math(normal_text(s)).lower()


def _undouble_delimited(s: str) -> str:
    r"""``\\(…\\)`` spans with doubled backslashes made single, as Markdown's escaping leaves them."""
    return re.sub(r"\\\\([(\[])(.*?)\\\\([)\]])", lambda m: "\\" + m.group(1) + m.group(2).replace("\\\\", "\\")
                  + "\\" + m.group(3), s, flags=re.S)


# -- numbers -------------------------------------------------------------------------------------

# a number as printed: an optional sign, digits with thousands separators (1,000 or 1{,}000), decimals, an
# exponent; not part of a word (GPT-3, word2vec, h1) nor of a LaTeX command
NUMBER = re.compile(r"(?<![0-9.])(?:(?<![A-Za-z0-9)\]}|])[-\u2212])?\d+(?:(?:,|\{,\})\d{3}(?!\d))*(?:\.\d+)?"
                    r"(?:[eE][-+]?\d+(?![\d.]))?")
_WORD_BEFORE = re.compile(r"(\\?)[A-Za-z]+$")
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def numbers_in(piece: str, in_math: bool = True):
    """The numbers of a piece of text, as regex matches: not inside a word (word2vec, h1; in prose also a
    hyphenated name such as GPT-3), but a digit right after a LaTeX command (``\\cdot1``) is a number."""
    for m in NUMBER.finditer(piece):
        # the letters right before the number (what _WORD_BEFORE finds), read backwards from it: searching the
        # whole text before each number made a long paragraph cost its length squared
        k = m.start()
        while k > 0 and piece[k - 1] in _ASCII_LETTERS:
            k -= 1
        if k < m.start() and not (k > 0 and piece[k - 1] == "\\"):
            continue
        if not in_math and m.start() >= 2 and piece[m.start() - 1] == "-" and piece[m.start() - 2].isalpha():
            continue
        yield m


#: ``\times 10^{k}`` (or ``\cdot``) right after a number: scientific notation (doubled backslashes too)
_SCIENTIFIC = re.compile(r"\s*\\{1,2}(?:times|cdot)\s*10\s*\^\s*(?:\{\s*([-+\u2212]?\d+)\s*\}|(\d))")
_INDEX_BEFORE = re.compile(r"_\s*$|_\s*\{[^{}]*$")
#: how much of the math before a number :func:`_is_index` reads: a subscript ``_{...}`` opened further back
#: than this is not read as one (no page has one; reading the whole piece each time made a long formula
#: cost its length squared)
_INDEX_CONTEXT = 1000


def _is_index(math_before: str) -> bool:
    """Does a number that follows ``math_before`` stand in a subscript?"""
    return bool(_INDEX_BEFORE.search(math_before))


def parse_number(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace("\u2212", "-").replace("{,}", "").replace(",", ""))
    except InvalidOperation:
        return None


# -- inline reading ------------------------------------------------------------------------------

_MATH_OPEN = re.compile(r"\\\\\(|\\\\\[|\\\(|\\\[|\$\$")
_CLOSE = {"\\\\(": "\\\\)", "\\\\[": "\\\\]", "\\(": "\\)", "\\[": "\\]", "$$": "$$"}


def _segments(raw: str):
    """(start, end, kind, doubled) spans of ``raw``: kind ``text``, ``math`` or ``display``."""
    pos, out = 0, []
    while pos < len(raw):
        m = _MATH_OPEN.search(raw, pos)
        if m is None:
            out.append((pos, len(raw), "text", False))
            break
        opener = m.group(0)
        close = raw.find(_CLOSE[opener], m.end())
        if close < 0:
            out.append((pos, len(raw), "text", False))
            break
        if m.start() > pos:
            out.append((pos, m.start(), "text", False))
        out.append((m.end(), close, "display" if opener in ("\\[", "\\\\[", "$$") else "math", opener.startswith("\\\\")))
        pos = close + len(_CLOSE[opener])
    return out


class _NewlineCounter:
    """The number of newlines of ``raw`` before a position, for positions asked in increasing order (as the
    numbers of a block are read): counted from the last position asked, so a block costs its length once."""

    def __init__(self, raw: str):
        self.raw, self.pos, self.count = raw, 0, 0

    def before(self, pos: int) -> int:
        if pos < self.pos:  # out of order (never in reading order): count from the start
            self.pos, self.count = 0, 0
        self.count += self.raw.count("\n", self.pos, pos)
        self.pos = pos
        return self.count


def read_inline(raw: str, first_line: int) -> tuple[str, list[tuple[str, int, bool, bool]], list[MathSpan]]:
    """The reading of a leaf block's inline source (number slots as ``#``), its numbers as (text, line,
    in_math, index) in order, and its math spans."""
    reading: list[str] = []
    numbers: list[tuple[str, int, bool, bool, int]] = []
    spans: list[MathSpan] = []
    length = 0  # len("".join(reading)), kept as it grows: the offsets cost nothing per number
    newlines = _NewlineCounter(raw)
    for start, end, kind, doubled in _segments(raw):
        piece = raw[start:end]
        in_math = kind != "text"
        if in_math:
            latex = piece.replace("\\\\", "\\") if doubled else piece
            lead = len(piece) - len(piece.lstrip())  # a display's content starts on the line after \[
            spans.append(MathSpan(latex.strip(), kind == "display", first_line + newlines.before(start + lead),
                                  first_line + newlines.before(end)))
        norm = normal_math if in_math else normal_text
        last = 0
        for m in numbers_in(piece, in_math):
            if m.start() < last:
                continue  # the exponent of a number in scientific notation, read with its mantissa
            before = piece[last:m.start()]
            if in_math and doubled:
                before = before.replace("\\\\", "\\")
            reading.append(norm(before))
            length += len(reading[-1])
            offset = length
            reading.append(SLOT)
            length += len(SLOT)
            text = m.group(0).replace("\u2212", "-")
            ctx = piece[max(0, m.start() - _INDEX_CONTEXT):m.start()]
            ctx = ctx.replace("\\\\", "\\") if doubled else ctx
            end = m.end()
            sci = _SCIENTIFIC.match(piece, end) if in_math and "e" not in text.lower() else None
            if sci is not None:  # 2.68 \times 10^8 is one number, 2.68e8
                text, end = f"{text}e{(sci.group(1) or sci.group(2)).replace(chr(0x2212), '-')}", sci.end()
            numbers.append((text, first_line + newlines.before(start + m.start()), in_math,
                            in_math and _is_index(ctx), offset))
            last = end
        tail = piece[last:]
        if in_math and doubled:
            tail = tail.replace("\\\\", "\\")
        reading.append(norm(tail))
        length += len(reading[-1])
    return "".join(reading), numbers, spans


# -- parsing -------------------------------------------------------------------------------------

_DISPLAY_OPEN = re.compile(r"^(\s*)(\\\\\[|\\\[|\$\$)")
_HELD = re.compile("\u27e6(\\d+)\u27e7")
_MD_IN_HTML = re.compile(r"^\s*<div\b[^>]*\bmarkdown\b[^>]*>\s*$|^\s*</div>\s*$")


def _parser():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.admon import admon_plugin

    return MarkdownIt("commonmark").enable("table").use(admon_plugin)


_MD = None


def parse_page(text: str, name: str = "page.md") -> Page:
    """Parse a page once into its model (sections, boxes, math, code, blocks and every printed number)."""
    global _MD
    if _MD is None:
        _MD = _parser()
    lines = text.splitlines()
    # md_in_html: a <div markdown> wrapper is transparent (its lines become blank, so line numbers hold)
    src_lines = ["" if _MD_IN_HTML.match(ln) else ln for ln in lines]
    # display math is taken out before the Markdown is parsed, as arithmatex does: a line of it that starts
    # with "+" or "1." is math, not a list item. Each of its lines is held by a placeholder naming it.
    k = 0
    while k < len(src_lines):
        m = _DISPLAY_OPEN.match(src_lines[k])
        if m:
            close = _CLOSE[m.group(2)]
            end = k
            rest = src_lines[k][m.end():]
            while close not in rest and end + 1 < len(src_lines):
                end += 1
                rest = src_lines[end]
            if close in rest:
                for j in range(k, end + 1):
                    src_lines[j] = m.group(1) + f"\u27e6{j}\u27e7"
                k = end
        k += 1
    src = "\n".join(src_lines)
    tokens = _MD.parse(src)
    headings: list[tuple[int, int, str]] = []
    boxes: list[Box] = []
    code: list[CodeFence] = []
    blocks: list[Block] = []
    math: list[MathSpan] = []
    numbers: list[Number] = []
    kind_stack: list[str] = []
    row_line = None
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            kind_stack.append("heading")
        elif tok.type == "heading_close":
            kind_stack.pop()
        elif tok.type == "admonition_open":
            title = tok.meta.get("title") if isinstance(tok.meta, dict) else None
            markup = tok.markup or ""
            boxes.append(Box(tok.meta.get("tag", tok.info.split()[0] if tok.info else ""),
                             _box_title(tok.info, title), tok.map[0] + 1, _last_content_line(lines, tok.map),
                             collapsible=markup.startswith("?")))
        elif tok.type == "admonition_title_open":
            kind_stack.append("title")
        elif tok.type == "admonition_title_close":
            kind_stack.pop()
        elif tok.type in ("td_open", "th_open"):
            kind_stack.append("cell")
        elif tok.type in ("td_close", "th_close"):
            kind_stack.pop()
        elif tok.type == "tr_open":
            row_line = tok.map[0] + 1 if tok.map else row_line
        elif tok.type in ("fence", "code_block"):
            body_first = tok.map[0] + (2 if tok.type == "fence" else 1)
            code.append(CodeFence(tok.info.strip(), tok.content, body_first, tok.map[1]))
        elif tok.type == "inline":
            kind = kind_stack[-1] if kind_stack else "paragraph"
            first = (tok.map[0] + 1) if tok.map else (row_line or 1)
            if kind == "heading":
                level = int(tokens[i - 1].tag[1])
                headings.append((first, level, tok.content))
            if kind == "title":
                continue  # the box's title is its name, not a block of its own
            content = _HELD.sub(lambda h: lines[int(h.group(1))].strip(), tok.content)
            reading, nums, spans = read_inline(content, first)
            b = len(blocks)
            block = Block(kind, first, (tok.map[1] if tok.map else first), reading, raw=content)
            for printed, line, in_math, index, offset in nums:  # not `text`: that is the page's
                n = Number(printed, line, b, offset, len(numbers), in_math, index)
                numbers.append(n)
                block.numbers.append(n)
            blocks.append(block)
            math.extend(spans)
    # a section ends before the next heading of its level or a higher one: one pass, with the open sections
    # on a stack (a page of many headings costs its number of headings, not its square)
    ends = [len(lines)] * len(headings)
    open_: list[int] = []
    for k, (line, level, _) in enumerate(headings):
        while open_ and headings[open_[-1]][1] >= level:
            ends[open_.pop()] = line - 1
        open_.append(k)
    sections = [Section(level, title, line, ends[k]) for k, (line, level, title) in enumerate(headings)]
    return Page(name, text, lines, sections, boxes, math, code, blocks, numbers)


def _box_title(info: str, title: str | None) -> str:
    if title is not None:
        return title
    m = re.search(r'"(.*)"', info or "")
    return m.group(1) if m else ""


def _last_content_line(lines: list[str], span: list[int]) -> int:
    end = span[1]
    while end > span[0] + 1 and not lines[end - 1].strip():
        end -= 1
    return end
