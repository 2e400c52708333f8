"""The course pages: locating a worked example's claims in a page, and running the page's code.

Locating: :func:`locate` finds the line where a claim's anchor and printed number stand (the
recorded line first, then the nearest occurrence), :func:`row_lines` the line of each row of a matrix.

Running code: extracted from the pages, run in a subprocess with a time limit.

Nothing is copied into the project: the code is read from the ``--course`` folder at test
time, written to a temporary folder and run there with ``python`` (matplotlib on its
non-interactive Agg backend, so ``plt.show()`` returns and figures go to the temporary
folder). Tests compare what it prints with the project's own recomputation.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lmverify.worked import Claim

class CourseError(ValueError):
    """The course folder or one of its pages cannot be used: the message names the folder or page."""


def course_pages(course: Path) -> list[str]:
    """The page names of a course folder; a named error when it is missing or holds no pages."""
    course = Path(course)
    if not course.is_dir():
        raise CourseError(f"--course {str(course)!r}: no such folder (expected the folder of the course pages, "
                          f"e.g. ../shared/course)")
    pages = sorted(p.name for p in course.glob("*.md"))
    if not pages:
        raise CourseError(f"--course {str(course)!r}: the folder holds no course pages (*.md)")
    return pages


def read_page(course: Path, page: str) -> str:
    """The text of ``page`` in ``course``, as UTF-8; a named error when it is missing or not UTF-8."""
    path = Path(course) / page
    if not path.is_file():
        raise CourseError(f"{path}: page {page!r} is not in the course folder {str(course)!r}")
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        guess = "UTF-16 (it starts with a byte-order mark)" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else \
            "a legacy 8-bit encoding such as cp1252 or latin-1"
        raise CourseError(f"{path}: page {page!r} is not UTF-8 text (byte {exc.start}: {exc.reason}); it looks like "
                          f"{guess}: save it as UTF-8") from None


def locate_text(text: str, page_lines: list[str], near: int) -> int | None:
    """The 1-based line where ``text`` (whitespace-insensitive, possibly spanning lines) begins, nearest
    to ``near``; None when the page does not contain it."""
    target = _norm(text)
    if not target:
        return None
    starts = []
    joined, offsets = "", []
    for i, line in enumerate(page_lines):
        offsets.append(len(joined))
        joined += _norm(line)
    k = joined.find(target)
    while k >= 0:
        line = max(i for i, off in enumerate(offsets) if off <= k)
        starts.append(line + 1)
        k = joined.find(target, k + 1)
    if not starts:
        return None
    return min(starts, key=lambda ln: abs(ln - near))


_EXAMPLE_BOX = re.compile(r'^!!!\s*example\s+"(?P<title>[^"]*)"')
_HEADING = re.compile(r"^(?P<hashes>#{2,6})\s+(?P<title>.*\S)\s*$")


def example_blocks(lines: list[str]) -> list[tuple[int, int, str]]:
    """The worked examples of a page, as (first line, last line, title), 1-based: ``!!! example "…"``
    boxes (to the end of their indented body) and headings that say "Worked Example" (to the next heading
    of the same or a higher level). Lines inside code fences are not headings."""
    out = []
    in_code = False
    headings: list[tuple[int, int, str]] = []  # (line, level, title)
    for i, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        if in_code:
            continue
        h = _HEADING.match(line)
        if h:
            headings.append((i, len(h.group("hashes")), h.group("title")))
        m = _EXAMPLE_BOX.match(line)
        if m:
            j = i
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith((" ", "\t"))):
                j += 1
            while j > i and not lines[j - 1].strip():
                j -= 1
            out.append((i, j, m.group("title")))
    for k, (i, level, title) in enumerate(headings):
        if "worked example" in title.lower():
            nxt = [j for j, lv, _ in headings[k + 1:] if lv <= level]
            out.append((i, (nxt[0] - 1) if nxt else len(lines), title))
    return sorted(out)


FENCE = re.compile(r"^```python\s*$")


@dataclass
class CodeBlock:
    page: str
    line: int  # 1-based line of the first line of code
    code: str


@dataclass
class CodeRun:
    block: CodeBlock
    returncode: int
    stdout: str
    stderr: str

    @property
    def missing_module(self) -> str | None:
        m = re.search(r"ModuleNotFoundError: No module named '([^']+)'", self.stderr)
        return m.group(1) if m else None


def code_blocks(page: Path) -> list[CodeBlock]:
    """Every fenced ```python block of a page, with the line it starts on."""
    lines = read_page(page.parent, page.name).splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if FENCE.match(lines[i].strip()):
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            blocks.append(CodeBlock(page.name, start + 1, "\n".join(lines[start:j]) + "\n"))
            i = j
        i += 1
    return blocks


def run(block: CodeBlock, timeout: float = 120.0) -> CodeRun:
    """Run a block as ``__main__`` in a fresh temporary folder; raise TimeoutError past ``timeout``."""
    with tempfile.TemporaryDirectory(prefix="lmverify-page-code-") as tmp:
        script = Path(tmp) / "page_code.py"
        script.write_text(block.code, encoding="utf-8")
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
        try:
            p = subprocess.run([sys.executable, str(script)], cwd=tmp, capture_output=True, text=True,
                               timeout=timeout, env=env)
        except subprocess.TimeoutExpired as exc:
            raise TimeoutError(f"{block.page}:{block.line}: code block still running after {timeout:.0f} s") from exc
    return CodeRun(block, p.returncode, p.stdout, p.stderr)


# -- locating claims in a page ------------------------------------------------------------

def _norm(s: str) -> str:
    return re.sub(r"\s+", "", s)


def row_lines(claim: Claim, page_lines: list[str], line: int) -> list[int]:
    """For a matrix claim found at ``line``: the 1-based line on which each printed row stands."""
    rows = claim.claimed if isinstance(claim.claimed[0], list) else [claim.claimed]
    out, j = [], line - 1
    for row in rows:
        text = _norm("&".join(str(v) for v in row))
        k = j
        while k < min(len(page_lines), line + 15) and text not in _norm(page_lines[k]):
            k += 1
        out.append(k + 1 if k < len(page_lines) else line)
        j = k
    return out


_NUMBER = re.compile(r"[-\u2212]?\d[\d,]*(?:\{,\}\d+)*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def number_after_anchor(claim: Claim, page_lines: list[str]) -> tuple[int, str] | None:
    """The number the page prints now right after the claim's anchor, on the anchor's line nearest to the
    recorded one: (line, text). For a scalar claim whose number changed (``None`` if none is there)."""
    anchor = claim.anchor
    skip = 0  # how many numbers stand between the anchor and the claimed one (a printed formula)
    if claim.printed is not None:
        rest = claim.printed
        k = _raw_find(anchor, rest)
        if k is not None:
            rest = rest[k:]
        numbers = [m.group(0) for m in _NUMBER.finditer(rest)]
        target = str(claim.claimed)
        if target not in numbers:
            return None
        skip = len(numbers) - 1 - numbers[::-1].index(target)
    best = None
    for i, line in enumerate(page_lines):
        k = _raw_find(anchor, line)
        if k is None:
            continue
        found = [m.group(0) for m in _NUMBER.finditer(line, k)]
        if len(found) > skip and (best is None or abs(i + 1 - claim.line) < abs(best[0] - claim.line)):
            best = (i + 1, found[skip].rstrip(",").replace("\u2212", "-"))
    return best


def _raw_find(needle: str, line: str) -> int | None:
    """Index in ``line`` just after ``needle``, matched ignoring whitespace; None if absent."""
    target = _norm(needle)
    chars = [(j, c) for j, c in enumerate(line) if not c.isspace()]
    text = "".join(c for _, c in chars)
    k = text.find(target)
    if k < 0 or not target:
        return None
    return chars[k + len(target) - 1][0] + 1


def locate(claim: Claim, page_lines: list[str]) -> tuple[int | None, str]:
    """Find the claim in the page: the 1-based line where its anchor and printed number are.

    Returns (line, '') when found, or (None, reason) when the page no longer says it.
    """
    if claim.line > len(page_lines) + 50:
        return None, f"recorded line {claim.line} is far beyond the page's {len(page_lines)} lines"
    anchor = _norm(claim.anchor)
    candidates = [i for i, line in enumerate(page_lines) if anchor in _norm(line)]
    if not candidates:
        return None, f"anchor {claim.anchor!r} not found in the page"
    # prefer the recorded line, then the nearest occurrence
    candidates.sort(key=lambda i: abs(i + 1 - claim.line))
    for i in candidates:
        if claim.is_matrix and claim.printed is None:
            # a matrix: its rows, printed as a&b&c, in order within the next lines
            rows = claim.claimed if isinstance(claim.claimed[0], list) else [claim.claimed]
            block = "".join(_norm(x) for x in page_lines[i:i + 15])
            pos = 0
            for row in rows:
                k = block.find(_norm("&".join(str(v) for v in row)), pos)
                if k < 0:
                    break
                pos = k + 1
            else:
                return i + 1, ""
        else:
            text = claim.printed if claim.printed is not None else str(claim.claimed)
            if _norm(text) in _norm(page_lines[i]):
                return i + 1, ""
    if claim.printed is not None and not claim.is_matrix:
        # the formula around it changed (e.g. an operand was corrected) but the claimed number is still printed
        for i in candidates:
            k = _raw_find(claim.anchor, page_lines[i])
            if k is not None and _norm(str(claim.claimed)) in _norm(page_lines[i][k:]):
                return i + 1, ""
    shown = claim.printed if claim.printed is not None else claim.claimed
    return None, f"anchor {claim.anchor!r} found (line {candidates[0] + 1}) but not with the claimed text {shown!r}"
