"""The course pages' runnable code: extracted from the pages, run in a subprocess with a time limit.

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
