"""The course pages: reading them (a named error for a missing or undecodable page), the members of a
printed list, and running the pages' code.

Locating claims is :mod:`lmverify.course`'s (the page model and contexts with a number slot): this
module keeps what reads raw lines (code fences, list members after an anchor).

Running code: extracted from the pages and run contained (:mod:`lmverify.sandbox`: a private folder, no
writes outside it, offline, every descendant ended, a CPU-time and a memory limit).

Nothing is copied into the project: the code is read from the ``--course`` folder at test
time, written to a fresh private folder and run there with ``python`` (matplotlib on its
non-interactive Agg backend, so ``plt.show()`` returns and figures go to that folder). Tests compare
what it prints with the project's own recomputation.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lmverify.sandbox import ContainedRun, SandboxError, positive_seconds, private_folder, run_contained

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


def _outside_link(path: Path, course: Path) -> str | None:
    """Where ``path`` really is, if a symbolic link (of the page, or of a folder between the course folder
    and it) takes it out of the course folder; None for a file of the folder (a link inside it is fine)."""
    try:
        target = path.resolve(strict=True)
        target.relative_to(course.resolve(strict=True))
        return None
    except ValueError:
        return str(target)
    except (OSError, RuntimeError):  # a dangling link or a loop: not a file of the folder either
        return str(path)


def read_page(course: Path, page: str) -> str:
    """The text of ``page`` in ``course``, as UTF-8; a named error when it is missing, a link that leaves the
    folder, or not UTF-8."""
    path = Path(course) / page
    if not path.is_file():
        raise CourseError(f"{path}: page {page!r} is not in the course folder {str(course)!r}")
    outside = _outside_link(path, Path(course))
    if outside is not None:
        raise CourseError(f"{path}: page {page!r} is a link to {outside!r}, outside the course folder "
                          f"{str(course)!r}; pages must be files of the folder (copy the file in instead)")
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

#: CPU seconds a block may use unless the page or ``--code-timeout`` says otherwise: generous, for blocks that
#: train (the character-level LSTM of neural_language_models.md uses about 20-40 CPU-s)
DEFAULT_CPU_SECONDS = 300.0
#: memory (RLIMIT_DATA) of a block, MiB, unless the page says otherwise
DEFAULT_MEMORY_MIB = 4096.0

#: a block's options, in an HTML comment on the line before its fence: ``<!-- lmverify: cpu=600 memory=8192 -->``
_OPTIONS = re.compile(r"^<!--\s*lmverify:\s*(?P<body>.*?)\s*-->$")
_OPTION_KEYS = {"cpu": "CPU seconds", "memory": "MiB of memory (RLIMIT_DATA)"}


@dataclass
class CodeBlock:
    page: str
    line: int  # 1-based line of the first line of code
    code: str
    stated_output: str | None = None  # what the page says the block prints (a text fence after it), if it does
    stated_line: int | None = None  # 1-based line of the first line of the stated output
    cpu_seconds: float | None = None  # the page's ``<!-- lmverify: cpu=N -->`` before the fence, if any
    memory_mib: float | None = None  # the page's ``<!-- lmverify: memory=N -->``, if any
    installs: dict[str, str] = field(default_factory=dict)  # module -> the page's install line that names it


@dataclass
class CodeRun:
    block: CodeBlock
    returncode: int
    stdout: str
    stderr: str
    seconds: float = 0.0
    contained: ContainedRun | None = None  # how the contained run ended (limits, writes, network, processes)


def code_blocks(page: Path) -> list[CodeBlock]:
    """Every fenced ```python block of a page, with the line it starts on, the output the page states for it
    (a plain/``text``/``output``/``console`` fence right after the block, either directly or after one short
    paragraph that says so: "Output:", "it prints", "you should see"), its options (``<!-- lmverify: cpu=600
    -->`` on the line before the fence) and the modules the page's install lines name."""
    text = read_page(page.parent, page.name)
    lines = text.splitlines()
    installs = page_installs(text)
    blocks, i = [], 0
    while i < len(lines):
        if FENCE.match(lines[i].strip()):
            start = i + 1
            j = start
            while j < len(lines) and lines[j].strip() != "```":
                j += 1
            block = CodeBlock(page.name, start + 1, "\n".join(lines[start:j]) + "\n", installs=installs)
            block.cpu_seconds, block.memory_mib = _block_options(page.name, lines, i)
            stated = _stated_output(lines, j + 1)
            if stated is not None:
                block.stated_line, block.stated_output = stated
            blocks.append(block)
            i = j
        i += 1
    return blocks


def _block_options(page: str, lines: list[str], fence: int) -> tuple[float | None, float | None]:
    """(cpu, memory) from an ``<!-- lmverify: key=value ... -->`` comment on the nearest non-blank line before
    the fence at 0-based line ``fence``; a named CourseError for an unknown key or a bad value."""
    k = fence - 1
    while k >= 0 and not lines[k].strip():
        k -= 1
    m = _OPTIONS.match(lines[k].strip()) if k >= 0 else None
    if m is None:
        return None, None
    where = f"{page}:{k + 1}"
    found: dict[str, float] = {}
    for item in m.group("body").split():
        key, eq, value = item.partition("=")
        if not eq or key not in _OPTION_KEYS:
            raise CourseError(f"{where}: lmverify option {item!r}: expected " +
                              ", ".join(f"{k}=<{what}>" for k, what in _OPTION_KEYS.items()))
        try:
            found[key] = positive_seconds(value, f"{key}=")
        except SandboxError:
            raise CourseError(f"{where}: lmverify option {item!r}: expected {key}=<{_OPTION_KEYS[key]}>, a finite "
                              "positive number") from None
    return found.get("cpu"), found.get("memory")


#: how a page states an install: ``pip install x y``, ``pip3``, ``python -m pip``, ``%pip``/``!pip``, ``uv pip
#: install``, ``uv add``, ``conda``/``mamba install`` (in a fence, inline code or prose)
_INSTALL = re.compile(r"(?:^|[\s`!%$>(])(?:python3?\s+-m\s+)?(?:pip3?\s+install|uv\s+pip\s+install|uv\s+add|"
                      r"(?:conda|mamba)\s+install)\s+(?P<args>[^\n`]*)")
#: distributions whose module has another name
_MODULE_OF = {"scikit-learn": "sklearn", "sklearn": "sklearn", "pillow": "PIL", "opencv-python": "cv2",
              "opencv-python-headless": "cv2", "beautifulsoup4": "bs4", "pyyaml": "yaml", "pytorch": "torch",
              "python-dateutil": "dateutil", "faiss-cpu": "faiss", "faiss-gpu": "faiss", "protobuf": "google",
              "tensorflow-cpu": "tensorflow", "gensim": "gensim", "sentencepiece": "sentencepiece"}


#: install options followed by a value that is not a package (a channel, a requirements file, an index)
_VALUED_OPTIONS = {"-c", "--channel", "-r", "--requirement", "-i", "--index-url", "--extra-index-url", "-f",
                   "--find-links", "-e", "--editable", "-t", "--target", "--prefix", "-p", "--python"}


def page_installs(text: str) -> dict[str, str]:
    """The modules a page's install lines name (``pip install scikit-learn gensim==4.3`` names ``sklearn`` and
    ``gensim``), each with the install text that names it. Options and version specifiers are left out."""
    out: dict[str, str] = {}
    for m in _INSTALL.finditer(text):
        said = m.group(0).strip().lstrip("`!%$>(")
        skip_next = False
        for arg in m.group("args").split():
            arg = arg.strip("'\"`,;()")
            if skip_next:
                skip_next = False
                continue
            if arg in _VALUED_OPTIONS:
                skip_next = True
                continue
            if arg.startswith(("#", "&", "|")):
                break
            if not arg or arg.startswith(("-", ".", "/")) or "://" in arg:
                continue
            name = re.split(r"[\[<>=!~;@ ]", arg, maxsplit=1)[0].lower()
            if name:
                out.setdefault(_MODULE_OF.get(name, name.replace("-", "_")), said)
    return out


def imported_modules(code: str) -> list[str]:
    """The top-level modules a block imports (``import a.b`` and ``from a.b import c`` give ``a``), in order;
    relative imports left out. Empty when the block does not parse (running it reports the syntax error)."""
    import ast

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module.split(".")[0])
    return list(dict.fromkeys(names))


def missing_installed(code: str) -> list[str]:
    """The modules a block imports that this interpreter cannot find (``importlib.util.find_spec``)."""
    import importlib.util

    missing = []
    for name in imported_modules(code):
        try:
            found = name in sys.modules or importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


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


#: environment of page code: headless plotting, fixed hashing; gensim's downloader kept in the run's folder
_PAGE_ENV = {"MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}


def run_contained_block(block: CodeBlock, cpu_seconds: float | None = None, offline: bool = True, *,
                        memory_mib: float | None = None, writable=(), watch=()) -> CodeRun:
    """Run a block as ``__main__`` contained (:func:`lmverify.sandbox.run_contained`): a fresh private folder,
    headless matplotlib, offline unless told otherwise, limited in CPU time by the page's ``cpu=`` option for
    the block, else ``cpu_seconds``, else DEFAULT_CPU_SECONDS (the author who marks a block that trains knows
    best), and in memory by the page's ``memory=``, else ``memory_mib``, else DEFAULT_MEMORY_MIB.
    ``writable``: paths outside the folder the block may write (a test's output file)."""
    cpu = block.cpu_seconds or cpu_seconds or DEFAULT_CPU_SECONDS
    memory = block.memory_mib or memory_mib or DEFAULT_MEMORY_MIB
    with private_folder(prefix="lmverify-page-code-") as folder:
        (folder / "page_code.py").write_text(block.code, encoding="utf-8")
        env = dict(os.environ, **_PAGE_ENV, GENSIM_DATA_DIR=str(folder / "gensim-data"))
        r = run_contained([sys.executable, "page_code.py"], cwd=folder, cpu_seconds=cpu, memory_mib=memory,
                          env=env, offline=offline, writable=writable, watch=watch)
    return CodeRun(block, r.returncode, r.stdout, r.stderr, r.wall_seconds, contained=r)


def run(block: CodeBlock, timeout: float | None = None, offline: bool = True, *, writable=()) -> CodeRun:
    """Run a block contained (see :func:`run_contained_block`; ``timeout`` is its CPU-time limit in seconds)
    and raise TimeoutError when it is stopped at its CPU-time limit or the wall-clock backstop."""
    r = run_contained_block(block, timeout, offline, writable=writable)
    if r.contained is not None and r.contained.status in ("cpu_limit", "wall_limit"):
        raise TimeoutError(f"{block.page}:{block.line}: code block {r.contained.reason}")
    return r


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
    (stopped at its CPU-time limit: a finding of kind ``timeout``, not ``code``). Skipped only for a reason the
    runner established: the block calls a downloader (read before running), it imports a module that is not
    installed and that the page's own install line names (``find_spec``, before running), or it failed after
    the offline guard refused and recorded a network call. Anything else that fails is ``failed``."""

    block: CodeBlock
    status: str
    seconds: float
    reason: str = ""  # skipped: why; failed: the last line of the error
    error_line: int | None = None  # failed: the page line of the innermost frame in the block
    output: str | None = None  # ``as stated`` / ``differs: ...`` when the page states what the block prints
    stdout: str = ""
    cpu_seconds: float = 0.0
    leftover_processes: int = 0  # processes the block left running (ended by the runner)

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


def run_block(block: CodeBlock, timeout: float | None = None, *, watch=()) -> BlockResult:
    """Run one block for the report (contained; ``timeout``: CPU seconds, default the page's ``cpu=`` option,
    else DEFAULT_CPU_SECONDS). Skipped without running when it calls a downloader or imports a module that is
    not installed and that the page's install line names; skipped when it fails after a network call that the
    offline guard refused and recorded; ``timeout`` at its CPU-time limit (or the wall-clock backstop); failed
    otherwise when it fails (with the last line of its error and the page line where it was raised), writes
    outside its folder or runs out of memory; with stated output, that output compared with what it printed."""
    what = needs_network(block.code)
    if what is not None:
        return BlockResult(block, "skipped", 0.0, f"needs the network ({what}); page code runs offline")
    declared = [m for m in missing_installed(block.code) if m in block.installs]
    if declared:
        m = declared[0]
        return BlockResult(block, "skipped", 0.0, f"missing package: {m} (not installed here; the page installs it: "
                                                  f"{block.installs[m]})")
    r = run_contained_block(block, timeout, watch=watch)
    c = r.contained
    assert c is not None
    base = dict(stdout=r.stdout, cpu_seconds=c.cpu_seconds, leftover_processes=c.leftover_processes)
    if c.status in ("cpu_limit", "wall_limit"):
        return BlockResult(block, "timeout", r.seconds, c.reason, **base)
    if c.status != "ok" and c.network_attempts and not c.writes_outside:
        return BlockResult(block, "skipped", r.seconds, f"needs the network (the offline guard refused "
                                                        f"{c.network_attempts[0]}); page code runs offline", **base)
    err = r.stderr.strip().splitlines()
    last = err[-1].strip() if err and r.returncode != 0 else c.reason or f"exit status {r.returncode}"
    if c.status == "memory_limit":
        last = f"{c.reason}"
    if c.writes_outside:
        last = ((last + "; " if r.returncode != 0 else "") + "wrote outside its folder: "
                + ", ".join(c.writes_outside[:3]))
    if c.status != "ok":
        frames = [int(m.group(1)) for m in re.finditer(r'File "[^"]*page_code\.py", line (\d+)', r.stderr)]
        line = block.line + frames[-1] - 1 if frames else None
        return BlockResult(block, "failed", r.seconds, last, error_line=line, **base)
    res = BlockResult(block, "ran", r.seconds, **base)
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


def run_course_code(course: Path, pages: list[str] | None = None, timeout: float | None = None) -> list[BlockResult]:
    """Every python block of the course's pages (or of ``pages``), run for the report, in page order
    (``timeout``: CPU seconds per block where the page sets none; default DEFAULT_CPU_SECONDS). The course folder
    is watched for writes."""
    names = course_pages(course) if pages is None else pages
    return [run_block(b, timeout, watch=[course]) for name in names for b in code_blocks(Path(course) / name)]


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
