"""The course pages: reading them (a named error for a missing or undecodable page), the members of a
printed list, and running the pages' code.

Locating claims is :mod:`lmverify.course`'s (the page model and contexts with a number slot): this
module keeps what reads raw lines (code fences, list members after an anchor).

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
_OUTPUT_FENCE = re.compile(r"^```(?:text|output|console|none|plaintext)?\s*$")
_OUTPUT_CUE = re.compile(r"\b(output|prints?|printed|should see|you will see|expected)\b", re.I)


@dataclass
class CodeBlock:
    page: str
    line: int  # 1-based line of the first line of code
    code: str
    stated_output: str | None = None  # what the page says the block prints (a text fence after it), if it does
    stated_line: int | None = None  # 1-based line of the first line of the stated output


@dataclass
class CodeRun:
    block: CodeBlock
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0

    @property
    def missing_module(self) -> str | None:
        m = re.search(r"ModuleNotFoundError: No module named '([^']+)'", self.stderr)
        return m.group(1) if m else None


def code_blocks(page: Path) -> list[CodeBlock]:
    """Every fenced ```python block of a page, with the line it starts on, and the output the page states for
    it: a plain/``text``/``output``/``console`` fence right after the block, either directly or after one
    short paragraph that says so ("Output:", "it prints", "you should see")."""
    lines = read_page(page.parent, page.name).splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if FENCE.match(lines[i].strip()):
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            block = CodeBlock(page.name, start + 1, "\n".join(lines[start:j]) + "\n")
            stated = _stated_output(lines, j + 1)
            if stated is not None:
                block.stated_line, block.stated_output = stated
            blocks.append(block)
            i = j
        i += 1
    return blocks


def _stated_output(lines: list[str], k: int) -> tuple[int, str] | None:
    """(first line, text) of an output fence starting at 0-based line ``k`` (after blank lines and at most one
    short cue paragraph), or None."""
    while k < len(lines) and not lines[k].strip():
        k += 1
    if k < len(lines) and not lines[k].lstrip().startswith("```"):
        para = []
        while k < len(lines) and lines[k].strip() and not lines[k].lstrip().startswith("```"):
            para.append(lines[k])
            k += 1
        if len(para) > 3 or not _OUTPUT_CUE.search(" ".join(para)):
            return None
        while k < len(lines) and not lines[k].strip():
            k += 1
    if k >= len(lines) or not _OUTPUT_FENCE.match(lines[k].strip()):
        return None
    j = k + 1
    while j < len(lines) and lines[j].strip() != "```":
        j += 1
    return k + 2, "\n".join(lines[k + 1:j]) + "\n"


# Page code runs offline: a sitecustomize module (first on the child's path) refuses name resolution and
# connections to anything but the loopback interface, so a block that downloads fails at once, with a
# message the report recognises, instead of hanging or reaching the network.
_OFFLINE = '''"""lmverify: page code runs offline (written by lmverify.pages.run; not part of the page)."""
import socket as _socket

_LOCAL = {None, "", "localhost", "127.0.0.1", "::1", "0.0.0.0"}
_getaddrinfo = _socket.getaddrinfo
_connect = _socket.socket.connect


def _offline_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, bytes):
        host = host.decode()
    if host in _LOCAL:
        return _getaddrinfo(host, *args, **kwargs)
    raise _socket.gaierror(-3, f"[lmverify offline] Temporary failure in name resolution of {host!r}: "
                               "page code runs without the network")


def _offline_connect(self, address):
    if self.family in (_socket.AF_INET, _socket.AF_INET6) and address[0] not in _LOCAL:
        raise OSError(f"[lmverify offline] connection to {address!r} refused: page code runs without the network")
    return _connect(self, address)


_socket.getaddrinfo = _offline_getaddrinfo
_socket.socket.connect = _offline_connect
'''

#: environment of page code: headless plotting, fixed hashing, hubs told they are offline
_OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}


def run(block: CodeBlock, timeout: float = 120.0, offline: bool = True) -> CodeRun:
    """Run a block as ``__main__`` in a fresh temporary folder (headless matplotlib, offline unless told
    otherwise); raise TimeoutError past ``timeout``."""
    import time

    with tempfile.TemporaryDirectory(prefix="lmverify-page-code-") as tmp:
        script = Path(tmp) / "page_code.py"
        script.write_text(block.code, encoding="utf-8")
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
        if offline:
            guard = Path(tmp) / "_lmverify_site"
            guard.mkdir()
            (guard / "sitecustomize.py").write_text(_OFFLINE, encoding="utf-8")
            env.update(_OFFLINE_ENV)
            env["GENSIM_DATA_DIR"] = str(Path(tmp) / "gensim-data")
            env["PYTHONPATH"] = os.pathsep.join([str(guard)] + [p for p in [os.environ.get("PYTHONPATH")] if p])
        t0 = time.perf_counter()
        try:
            p = subprocess.run([sys.executable, str(script)], cwd=tmp, capture_output=True, text=True,
                               timeout=timeout, env=env)
        except subprocess.TimeoutExpired as exc:
            raise TimeoutError(f"{block.page}:{block.line}: code block still running after {timeout:.0f} s") from exc
    return CodeRun(block, p.returncode, p.stdout, p.stderr, time.perf_counter() - t0)


# -- the report's view of a code block: ran, skipped (network, missing package) or failed -------------

#: downloaders and remote loaders, found by reading the block (it is then skipped without running)
_NETWORK_CALLS = (
    (re.compile(r"\bgensim\.downloader\b|from\s+gensim\s+import\s+downloader"), "gensim.downloader"),
    (re.compile(r"\bnltk\.download\s*\("), "nltk.download()"),
    (re.compile(r"\bload_dataset\s*\("), "datasets.load_dataset()"),
    (re.compile(r"\.from_pretrained\s*\("), "from_pretrained() (Hugging Face hub)"),
    (re.compile(r"\bhf_hub_download\s*\(|\bsnapshot_download\s*\("), "huggingface_hub download"),
    (re.compile(r"\burllib\.request\b|\burlopen\s*\(|\burlretrieve\s*\("), "urllib.request"),
    (re.compile(r"\brequests\.(get|post)\s*\("), "requests"),
    (re.compile(r"\bdownload\s*=\s*True\b"), "a dataset with download=True"),
)

#: what a block that tried the network prints when it fails offline
_NETWORK_ERRORS = re.compile(
    r"\[lmverify offline\]|Temporary failure in name resolution|Name or service not known|nodename nor servname|"
    r"getaddrinfo failed|urllib\.error\.URLError|socket\.gaierror|requests\.exceptions\.ConnectionError|"
    r"Max retries exceeded|huggingface_hub\.errors|OfflineModeIsEnabled|LocalEntryNotFoundError|"
    r"We couldn't connect to|Network is unreachable")


def needs_network(code: str) -> str | None:
    """The downloader a block calls, found by reading it (comment lines left out), or None."""
    text = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("#"))
    for pattern, what in _NETWORK_CALLS:
        if pattern.search(text):
            return what
    return None


@dataclass
class BlockResult:
    """A code block as the report shows it: ``status`` is ``ran``, ``skipped``, ``failed`` or ``timeout``
    (stopped at its time limit: a finding of kind ``timeout``, not ``code``)."""

    block: CodeBlock
    status: str
    seconds: float
    reason: str = ""  # skipped: why; failed: the last line of the error
    error_line: int | None = None  # failed: the page line of the innermost frame in the block
    output: str | None = None  # ``as stated`` / ``differs: ...`` when the page states what the block prints
    stdout: str = ""

    @property
    def page(self) -> str:
        return self.block.page

    @property
    def line(self) -> int:
        return self.block.line

    @property
    def digest(self) -> str:
        """A short hash of the code: names the block in a baseline, whatever line it moves to."""
        import hashlib

        return hashlib.sha1(self.block.code.encode("utf-8")).hexdigest()[:12]

    @property
    def failing(self) -> bool:
        """A gate: the block failed, or it printed other than the page states."""
        return self.status in ("failed", "timeout") or (self.output is not None and self.output != "as stated")


def run_block(block: CodeBlock, timeout: float = 120.0) -> BlockResult:
    """Run one block for the report: skipped without running when it calls a downloader; skipped when it
    fails for want of the network or of a package; failed with the last line of its error and the page line
    where it was raised; with stated output, that output compared with what it printed."""
    what = needs_network(block.code)
    if what is not None:
        return BlockResult(block, "skipped", 0.0, f"needs the network ({what}); page code runs offline")
    try:
        r = run(block, timeout=timeout)
    except TimeoutError:
        return BlockResult(block, "timeout", timeout, f"still running after the time limit of {timeout:g} s")
    err = r.stderr.strip().splitlines()
    last = err[-1].strip() if err else f"exit status {r.returncode}"
    if r.returncode != 0:
        if r.missing_module:
            return BlockResult(block, "skipped", r.seconds, f"missing package: {r.missing_module}", stdout=r.stdout)
        if _NETWORK_ERRORS.search(r.stderr):
            return BlockResult(block, "skipped", r.seconds, f"needs the network ({last})", stdout=r.stdout)
        frames = [int(m.group(1)) for m in re.finditer(r'File "[^"]*page_code\.py", line (\d+)', r.stderr)]
        line = block.line + frames[-1] - 1 if frames else None
        return BlockResult(block, "failed", r.seconds, last, error_line=line, stdout=r.stdout)
    res = BlockResult(block, "ran", r.seconds, stdout=r.stdout)
    if block.stated_output is not None:
        res.output = compare_output(block.stated_output, r.stdout)
    return res


def compare_output(stated: str, printed: str) -> str:
    """``as stated``, or ``differs: ...`` naming the first line that differs. Numbers are compared at the
    precision the page states them (a stated 0.693 matches a printed 0.6931), other text exactly up to
    spaces."""
    from lmverify.printed import WorkedExampleError, judge_number, parse_printed

    want = [ln for ln in stated.splitlines() if ln.strip()]
    got = [ln for ln in printed.splitlines() if ln.strip()]
    for k, w in enumerate(want):
        if k >= len(got):
            return f"differs: the page states {len(want)} line(s) of output, the block printed {len(got)}"
        g = got[k]
        wn, gn = [m.group(0) for m in _NUMBER.finditer(w)], [m.group(0) for m in _NUMBER.finditer(g)]
        ok = _NUMBER.sub("#", _norm(w)) == _NUMBER.sub("#", _norm(g)) and len(wn) == len(gn)
        for a, b in zip(wn, gn) if ok else ():
            try:
                stated_num = parse_printed(a.replace("\u2212", "-"), "stated output")
                got_num = float(b.replace(",", "").replace("\u2212", "-"))
                ok = ok and judge_number(stated_num, got_num) == "correct"
            except (WorkedExampleError, ValueError):
                ok = ok and a == b
        if not ok:
            return f"differs: output line {k + 1}: the page states {w.strip()!r}, the block printed {g.strip()!r}"
    return "as stated"


def run_course_code(course: Path, pages: list[str] | None = None, timeout: float = 120.0) -> list[BlockResult]:
    """Every python block of the course's pages (or of ``pages``), run for the report, in page order."""
    names = course_pages(course) if pages is None else pages
    return [run_block(b, timeout) for name in names for b in code_blocks(Path(course) / name)]


# -- raw text: list members after an anchor, resembling lines ---------------------------------------

def _norm(s: str) -> str:
    return re.sub(r"\s+", "", s)


_NUMBER = re.compile(r"[-\u2212]?\d[\d,]*(?:\{,\}\d+)*(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _raw_find(needle: str, line: str) -> int | None:
    """Index in ``line`` just after ``needle``, matched ignoring whitespace; None if absent."""
    target = _norm(needle)
    chars = [(j, c) for j, c in enumerate(line) if not c.isspace()]
    text = "".join(c for _, c in chars)
    k = text.find(target)
    if k < 0 or not target:
        return None
    return chars[k + len(target) - 1][0] + 1


_BACKTICK_RUN = re.compile(r"\s*:?\s*((?:`[^`]+`(?:\s*(?:,|and|or|;)?\s*)){1,})")
_BRACKETED = re.compile(r"\s*:?\s*[\[{(]([^\]})]*)[\]})]")
_PLAIN = re.compile(r"\s*:?\s*([^.;]*)")


def parse_members(text: str) -> list[str]:
    """The members of a printed list: backticked items (`a`, `b` and `c`), or a bracketed or plain
    comma-separated list ([a, b], {a, b}, a, b, c). Surrounding quotes and spaces are stripped."""
    ticks = re.findall(r"`([^`]+)`", text)
    if ticks:
        return [t.strip() for t in ticks]
    m = _BRACKETED.match(text)
    body = m.group(1) if m else text
    return [x.strip().strip("'\"").strip() for x in re.split(r",|\band\b", body) if x.strip().strip("'\"").strip()]


def members_after_anchor(claim: Claim, page_lines: list[str]) -> tuple[int, list[str], str] | None:
    """For a list claim: the members the page prints right after the claim's anchor, on the anchor's line
    nearest the recorded one: (line, members, the printed text), or None when the anchor or list is gone."""
    best = None
    for i, line in enumerate(page_lines):
        k = _raw_find(claim.anchor, line)
        if k is None:
            continue
        rest = line[k:]
        m = _BACKTICK_RUN.match(rest) or _BRACKETED.match(rest)
        if m is None and "`" not in rest:
            m = _PLAIN.match(rest)
        if m is None:
            continue
        text = m.group(1).strip().rstrip(",;").strip()
        members = parse_members(m.group(0) if m.re is _BRACKETED else text)
        if members and (best is None or abs(i + 1 - claim.line) < abs(best[0] - claim.line)):
            best = (i + 1, members, text)
    return best


def nearest_candidate(text: str, page_lines: list[str], near: int, window: int = 40) -> tuple[int, str] | None:
    """The line within ``window`` lines of ``near`` that most resembles ``text`` (whitespace-insensitive),
    with its text: where content that can no longer be found most likely went."""
    import difflib

    target = _norm(text)
    best = None
    lo, hi = max(0, near - 1 - window), min(len(page_lines), near + window)
    for i in range(lo, hi):
        cand = _norm(page_lines[i])
        if not cand:
            continue
        score = difflib.SequenceMatcher(None, target, cand, autojunk=False).ratio()
        if best is None or score > best[0] or (score == best[0] and abs(i + 1 - near) < abs(best[1] - near)):
            best = (score, i + 1)
    if best is None or best[0] < 0.3:
        return None
    return best[1], page_lines[best[1] - 1].strip()
