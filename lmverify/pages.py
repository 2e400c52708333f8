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
    lines = page.read_text(encoding="utf-8").splitlines()
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


def locate(claim: Claim, page_lines: list[str]) -> tuple[int | None, str]:
    """Find the claim in the page: the 1-based line where its anchor and printed number are.

    Returns (line, '') when found, or (None, reason) when the page no longer says it.
    """
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
    shown = claim.printed if claim.printed is not None else claim.claimed
    return None, f"anchor {claim.anchor!r} found (line {candidates[0] + 1}) but not with the claimed text {shown!r}"
