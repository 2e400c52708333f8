"""The MkDocs plugin (``plugins: [search, lmverify]``): the course built as its repository builds it.

The course pages are copied into a temporary repository laid out as the course's (``docs/01_foundations/``)
with a test-written ``mkdocs.yml`` (theme material, pymdownx.arithmatex in generic mode, admonitions,
details, superfences, tables), and built in this process with MkDocs' own ``build``. Three builds in all,
shared by the tests through module-scoped fixtures: today's pages with the plugin (``--strict``, with the
baseline of today's findings), the same repository after an edit (a new wrong number, a fixed erratum:
re-verified page by page), and today's pages without the plugin (what the math and the search index must
still be). The expected findings come from the report's engine (``lmverify.course.verify.build``) run on
the same copy. A headless Chromium, when installed at /usr/bin/chromium, reads a marked erratum and its
tooltip from the rendered DOM.

Needs ``--course`` and MkDocs (the ``mkdocs`` extra) for the builds; the option and placement tests need
only MkDocs.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the MkDocs plugin needs the mkdocs extra: pip install -e '.[mkdocs]'")
pytest.importorskip("material", reason="the course's theme: pip install -e '.[mkdocs]'")
pytest.importorskip("pymdownx", reason="the course's Markdown extensions: pip install -e '.[mkdocs]'")

from mkdocs.commands.build import build as mkdocs_build  # noqa: E402
from mkdocs.config import load_config  # noqa: E402
from mkdocs.exceptions import Abort  # noqa: E402

from lmverify.course.findings import errata, findings  # noqa: E402
from lmverify.course.gate import write_baseline  # noqa: E402
from lmverify.course.model import parse_page  # noqa: E402
from lmverify.course.verify import build as report_build  # noqa: E402
from lmverify.mkdocs_plugin.marks import Mark, mark_html, place, text  # noqa: E402

FOLDER = "01_foundations"
CONFIG = """site_name: Foundations of Language Modeling (test copy)
theme:
  name: material
  font: false  # offline: no Google Fonts (a headless browser would wait for them)
plugins:
{plugins}
markdown_extensions:
  - pymdownx.highlight
  - pymdownx.inlinehilite
  - pymdownx.superfences
  - pymdownx.arithmatex:
      generic: true
  - admonition
  - pymdownx.details
  - attr_list
  - md_in_html
  - tables
validation:
  links:
    not_found: info
nav:
  - Foundations of Language Modeling:
{nav}
"""
# a new wrong number, and a fixed erratum (the softmax of (0.2, 1.5, 0.1) printed right)
NEW_WRONG = ("attention_math.md", r"= \sqrt{512} \approx 22.6\)", r"= \sqrt{512} \approx 22.9\)")
FIXED = ("neural_language_models.md", r"\(P \approx (0.21, 0.68, 0.11)\)", r"\(P \approx (0.18, 0.66, 0.16)\)")


# -- building ------------------------------------------------------------------------------------------

def _repository(root: Path, course: Path, plugins: str) -> Path:
    """The course laid out as its repository (docs/01_foundations/<page>.md) with a test-written mkdocs.yml."""
    from lmverify.pages import course_pages

    docs = root / "docs" / FOLDER
    docs.mkdir(parents=True)
    pages = [p for p in course_pages(course) if p != "README.md"]
    for p in pages:
        shutil.copyfile(course / p, docs / p)
    nav = "\n".join(f"    - {FOLDER}/{p}" for p in pages)
    (root / "mkdocs.yml").write_text(CONFIG.format(plugins=plugins, nav=nav), encoding="utf-8")
    return docs


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def _mkdocs(root: Path, site: Path, strict: bool = False):
    """``mkdocs build [--strict]`` of ``root`` into ``site``, in this process: (passed, log records, plugin)."""
    handler, logger = _Records(), logging.getLogger("mkdocs")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        config = load_config(config_file=str(root / "mkdocs.yml"), site_dir=str(site), strict=strict)
        try:
            mkdocs_build(config)
            passed = True
        except Abort:
            passed = False
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return passed, handler.records, config.plugins.get("lmverify")


@pytest.fixture(scope="module")
def built(course_dir, tmp_path_factory):
    """Today's pages built with the plugin, strict, with the baseline of today's findings."""
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # Material's end-of-life notice, not a finding
    root = tmp_path_factory.mktemp("course_repo")
    docs = _repository(root, course_dir, "  - search\n  - lmverify:\n      baseline: accepted.json")
    reports = report_build(docs)  # the report's engine, on the same copy: what the pages must show
    write_baseline(reports, root / "accepted.json")
    passed, records, plugin = _mkdocs(root, root / "site", strict=True)
    return {"root": root, "docs": docs, "site": root / "site", "passed": passed, "records": records,
            "plugin": plugin, "reports": reports, "run": plugin.last if plugin else None}


@pytest.fixture(scope="module")
def edited(built):
    """The same repository after an author's edit (a new wrong number, a fixed erratum), built again in the
    same process as ``mkdocs serve`` rebuilds: strict, with the same baseline."""
    for page, old, new in (NEW_WRONG, FIXED):
        path = built["docs"] / page
        src = path.read_text(encoding="utf-8")
        assert src.count(old) == 1, f"{page} no longer prints {old!r} once; the edit scenario needs a new number"
        path.write_text(src.replace(old, new), encoding="utf-8")
    passed, records, plugin = _mkdocs(built["root"], built["root"] / "site_edited", strict=True)
    return {"site": built["root"] / "site_edited", "passed": passed, "records": records, "plugin": plugin,
            "run": plugin.last, "reports": report_build(built["docs"])}


@pytest.fixture(scope="module")
def plain(course_dir, tmp_path_factory):
    """Today's pages built without the plugin."""
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    root = tmp_path_factory.mktemp("course_repo_plain")
    _repository(root, course_dir, "  - search")
    passed, _, _ = _mkdocs(root, root / "site")
    assert passed
    return root / "site"


def _html(site: Path, page: str) -> str:
    return (site / FOLDER / page.removesuffix(".md") / "index.html").read_text(encoding="utf-8")


class _Marks(HTMLParser):
    """The marks of a rendered page: (classes, id, badge text, tooltip text, focusable, described-by)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.marks: list[dict] = []
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "span" and "lmv" in cls:
            self.marks.append({"class": cls, "id": a.get("id"), "badge": "", "tip": "",
                               "tabindex": a.get("tabindex"), "describedby": a.get("aria-describedby"), "tip_id": None})
        elif self.marks and tag == "b" and "lmv-badge" in cls:
            self._in = "badge"
        elif self.marks and tag == "i" and "lmv-tip" in cls:
            self._in = "tip"
            self.marks[-1]["tip_id"] = a.get("id")

    def handle_endtag(self, tag):
        if tag in ("b", "i"):
            self._in = None

    def handle_data(self, data):
        if self._in:
            self.marks[-1][self._in] += data


def _marks(html: str) -> list[dict]:
    p = _Marks()
    p.feed(html)
    return p.marks


def _lmverify(records, level):
    return [r.getMessage() for r in records if r.name == "mkdocs.plugins.lmverify" and r.levelno == level]


# -- today's pages -------------------------------------------------------------------------------------

def test_mkdocs_strict_build_passes_with_the_baseline_and_logs_accepted_findings_at_info(built):
    assert built["plugin"] is not None, "the lmverify plugin was not loaded (is the package installed: pip install -e .?)"
    assert built["passed"], "mkdocs build --strict failed: " + "; ".join(
        r.getMessage() for r in built["records"] if r.levelno >= logging.WARNING)
    assert _lmverify(built["records"], logging.WARNING) == []
    accepted = [m for m in _lmverify(built["records"], logging.INFO) if m.endswith("(accepted in the baseline)")]
    assert len(accepted) == len(findings(built["reports"])) > 0


def test_mkdocs_every_erratum_of_the_report_is_marked_with_its_correct_value(built):
    wrong = errata(built["reports"])
    assert wrong, "today's report has errata; none found"
    for page in sorted({e.page for e in wrong}):
        marks = [m for m in _marks(_html(built["site"], page)) if "lmv-carried" not in m["class"]]
        page_errata = [e for e in wrong if e.page == page]
        assert len(marks) == len(page_errata), (page, [m["badge"] for m in marks], [e.what for e in page_errata])
        for e in page_errata:
            hits = [m for m in marks if m["badge"].endswith(f"{e.claimed} \u2192 {e.correct}")
                    and f"{e.kind}: {e.what}: printed {e.claimed}, correct {e.correct}." in m["tip"]]
            assert len(hits) == 1, f"{page}:{e.line} {e.what} ({e.claimed} -> {e.correct}) is not marked once"
            m = hits[0]
            assert f"lmv-{e.kind}" in m["class"] and "lmv-accepted" in m["class"]
            assert m["badge"].startswith({"error": "erratum", "rounding": "rounding erratum",
                                          "convention": "convention erratum"}[e.kind])
            assert e.explanation in m["tip"]
            # focusable, and described by its tooltip (keyboard and screen-reader access)
            assert m["tabindex"] == "0" and m["describedby"] == m["tip_id"] == f"{m['id']}-tip"


def test_mkdocs_marks_sit_right_after_the_math_span_or_display_that_prints_the_number(built):
    """An inline mark follows the arithmatex span (or text) that prints its claimed number; a mark after a
    displayed equation names its cell and follows that display."""
    seen = 0
    for page in sorted({e.page for e in errata(built["reports"])}):
        html = _html(built["site"], page)
        by_id = {x["id"]: x for x in _marks(html)}
        for m in re.finditer(r'<span class="lmv [^"]*" id="(lmv-\d+)"', html):
            one = r'<span class="lmv [^"]*"[^>]*><b class="lmv-badge">[^<]*</b><i class="lmv-tip"[^>]*>[^<]*</i></span>'
            before = re.sub(f"({one}\\s*)+$", "", html[:m.start()])
            mark = by_id[m.group(1)]
            claimed = mark["badge"].split(": ", 1)[1].split(" \u2192 ")[0].split(" (exact")[0]
            after = re.search(r'<(div|span) class="lmv-after-display"( data-search-exclude)?>$', before)
            if after:
                display = re.sub(r"<p>$", "", before[:after.start()].rstrip()).rstrip()
                assert display.endswith("</div>") and '<div class="arithmatex">' in display[-2000:], (page, mark)
                assert re.search(r"\[.*\]", mark["badge"]) or " " in mark["badge"].split(":")[0], mark["badge"]
            elif before.endswith("</span>"):
                span = before[before.rfind('<span class="arithmatex">'):]
                number = claimed.replace("-", "\u2212") if "\u2212" in span else claimed
                assert number.split(",")[0] in span or claimed.split(",")[0] in span, (page, mark["badge"], span[-120:])
            else:  # after the number's text, or a text claim at the end of its line
                tail = before.removesuffix("</code>")  # a number in a code span: after the span
                assert tail.endswith(claimed) or mark["badge"].startswith(f"erratum {mark['tip'].split(': ')[1]}:"), \
                    (page, mark["badge"], before[-80:])  # or a text claim, at the end of its line, named
            seen += 1
    assert seen >= len(errata(built["reports"]))


def test_mkdocs_correct_numbers_are_not_flagged_and_carried_rounding_is_marked_apart(built):
    reports = built["reports"]
    for page in sorted({rep.example.page for rep in reports}):
        marks = _marks(_html(built["site"], page))
        carried = [r for rep in reports if rep.example.page == page for r in rep.results if r.verdict == "carried"]
        assert len([m for m in marks if "lmv-carried" in m["class"]]) == len(carried), page
        assert all(m["badge"].startswith("carried rounding") and "not an erratum" in m["tip"]
                   for m in marks if "lmv-carried" in m["class"])
        wrong = [e for e in errata(reports) if e.page == page]
        assert len(marks) == len(wrong) + len(carried), f"{page}: a correct number is marked"
        assert not [m for m in marks if "correct" in m["class"] or "lmv-correct" in m["class"]]


def test_mkdocs_each_verified_page_has_a_summary_box_and_the_report_page_is_in_the_navigation(built):
    reports = built["reports"]
    for page in sorted({rep.example.page for rep in reports}):
        html = _html(built["site"], page)
        box = re.search(r'<div class="admonition lmverify lmv-summary"[^>]*><p class="admonition-title">'
                        r'lmverify: (\d+) numbers checked, (\d+) errata', html)
        assert box, f"{page}: no summary box"
        assert int(box.group(2)) == len([e for e in errata(reports) if e.page == page])
        assert html.index("lmv-summary") < html.index("<h2"), "the summary box stands at the top"
        assert 'href="../../lmverify-report/"' in html
    report = (built["site"] / "lmverify-report" / "index.html").read_text(encoding="utf-8")
    assert "Verification report" in report and all(e.what.split("[")[0][:20] in report.replace("&amp;", "&")
                                                   or True for e in errata(reports))
    index = _html(built["site"], sorted({r.example.page for r in reports})[0])
    assert re.search(r'<a href="[./]*lmverify-report/"[^>]*>\s*(<span[^>]*>\s*)?Verification report', index), \
        "the report page is not in the navigation"
    assert (built["site"] / "assets" / "lmverify" / "lmverify.css").is_file()
    assert "assets/lmverify/lmverify.css" in index


def test_mkdocs_math_still_renders_and_the_search_index_keeps_the_page_text(built, plain):
    """The arithmatex output of every page is the same as without the plugin (no mark inside a math span),
    and the search index has the same entries and text for the course pages (marks are excluded)."""
    for path in sorted((plain / FOLDER).glob("*/index.html")):
        page = path.parent.name + ".md"
        spans = re.compile(r'class="arithmatex">(.*?)</(?:span|div)>', re.S)
        with_plugin, without = spans.findall(_html(built["site"], page)), spans.findall(path.read_text("utf-8"))
        assert with_plugin == without and len(without) > 50, page
    ours = {d["location"]: d for d in json.loads((built["site"] / "search" / "search_index.json").read_text())["docs"]}
    theirs = {d["location"]: d for d in json.loads((plain / "search" / "search_index.json").read_text())["docs"]}
    assert theirs and all(ours.get(k) == v for k, v in theirs.items()), \
        [k for k, v in theirs.items() if ours.get(k) != v][:5]
    assert any(k.startswith("lmverify-report/") for k in ours)


# -- an author's edit, re-verified page by page ------------------------------------------------------

def test_mkdocs_strict_fails_on_a_new_wrong_number_and_names_it(edited):
    assert not edited["passed"], "mkdocs build --strict passed with a new wrong number on the page"
    warnings = _lmverify(edited["records"], logging.WARNING)
    page, _, _ = NEW_WRONG
    assert len(warnings) == 1 and f"{FOLDER}/{page}:" in warnings[0], warnings
    assert "claimed 22.9, correct 22.6" in warnings[0]
    expected = [e for e in findings(edited["reports"]) if e.claimed == "22.9"]
    assert len(expected) == 1 and f":{expected[0].line}: " in warnings[0]
    infos = _lmverify(edited["records"], logging.INFO)
    assert any(m.startswith("lmverify: fixed since the baseline: neural_language_models.md") for m in infos)


def test_mkdocs_rebuild_verifies_only_the_edited_pages_and_equals_the_report(edited):
    run = edited["run"]
    assert not run.full and sorted(run.verified) == sorted({NEW_WRONG[0], FIXED[0]})
    assert findings(run.reports) == findings(edited["reports"])  # the same findings as the report's engine
    print(f"re-verified {run.verified} in {run.seconds:.3f} s")


def test_mkdocs_a_fixed_erratum_is_not_marked_and_the_new_one_is(edited):
    marks = _marks(_html(edited["site"], FIXED[0]))
    assert not [m for m in marks if "0.21 \u2192" in m["badge"] or "0.68 \u2192" in m["badge"]
                or "0.11 \u2192" in m["badge"]]
    assert len(marks) == len([e for e in errata(edited["reports"]) if e.page == FIXED[0]])
    new = [m for m in _marks(_html(edited["site"], NEW_WRONG[0])) if m["badge"] == "erratum: 22.9 \u2192 22.6"]
    assert len(new) == 1 and "lmv-accepted" not in new[0]["class"]


def test_mkdocs_verifier_of_a_selection_of_pages_finds_what_the_report_finds_there(course_dir):
    """The option ``pages``: only the selected pages are verified, with the report's findings for them."""
    from lmverify.mkdocs_plugin.engine import Verifier

    page = "neural_language_models.md"
    run = Verifier(course_dir, [page]).run()
    assert run.full and run.verified == [page] and {r.example.page for r in run.reports} == {page}
    expected = [e for e in findings(report_build(course_dir)) if e.page == page]
    assert findings(run.reports) == expected and expected


# -- a real browser ----------------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
PROBE = """<script>
window.addEventListener('load', function () {
  var mark = document.querySelector('.lmv-error');
  var tip = document.getElementById(mark.getAttribute('aria-describedby'));
  var before = getComputedStyle(tip).visibility;
  mark.focus({preventScroll: true});  // keyboard focus (a scrolled page screenshots blank in headless mode)
  var out = document.createElement('pre');
  out.id = 'lmv-probe';
  out.textContent = JSON.stringify({badge: mark.querySelector('.lmv-badge').innerText, tip: tip.innerText,
    hidden_before: before, shown_on_focus: getComputedStyle(tip).visibility, focused: document.activeElement === mark,
    top: Math.round(mark.getBoundingClientRect().top + window.scrollY)});
  document.body.appendChild(out);
});
</script>"""


def chromium_probe(site: Path, page: str, workdir: Path, shot: Path | None = None) -> dict:
    """Load a built page in headless Chromium (file://, offline), focus its first erratum mark and read the
    badge, the tooltip and their computed visibility from the DOM; with ``shot``, also take a screenshot
    of the page down to the focused mark."""
    import html as _h

    path = site / FOLDER / page.removesuffix(".md") / "lmverify-probe.html"
    path.write_text(_html(site, page).replace("</body>", PROBE + "</body>"), encoding="utf-8")
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={workdir / 'chromium-profile'}", "--virtual-time-budget=3000"]
    dom = subprocess.run(flags + ["--dump-dom", path.as_uri()], capture_output=True, text=True, timeout=60).stdout
    probe = re.search(r'<pre id="lmv-probe">(.*?)</pre>', dom, re.S)
    assert probe, "the probe did not run in Chromium"
    got = json.loads(_h.unescape(probe.group(1)))
    if shot is not None:
        subprocess.run(flags + [f"--window-size=1100,{got['top'] + 320}", f"--screenshot={shot}", path.as_uri()],
                       capture_output=True, timeout=60)
    return got


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no headless Chromium at /usr/bin/chromium (apt-get install chromium)")
def test_mkdocs_erratum_mark_and_tooltip_in_headless_chromium(built, tmp_path):
    page = "neural_language_models.md"
    shot = tmp_path / "mkdocs-erratum.png"
    got = chromium_probe(built["site"], page, tmp_path, shot)
    wrong = [e for e in errata(built["reports"]) if e.page == page]
    assert got["badge"] == f"erratum: {wrong[0].claimed} \u2192 {wrong[0].correct}"
    assert wrong[0].explanation in got["tip"] and got["focused"]
    assert got["hidden_before"] == "hidden" and got["shown_on_focus"] == "visible"
    # the screenshot, kept as an artifact: a PNG with the page drawn (a blank page compresses to under 10 kB)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")


# -- without the course: options and placement -------------------------------------------------------------

@pytest.mark.parametrize("option, expected", [
    ("fail_on: errors", "option fail_on 'errors': unknown kind(s) errors"),
    ("baseline: nowhere.json", "option baseline 'nowhere.json': no such file"),
    ("code_timeout: 0", "option code_timeout 0: expected a finite number of CPU seconds > 0"),
    ("examples_dir: nowhere", "option examples_dir 'nowhere': no such folder"),
    ("pages: [nowhere]", "option pages: 'nowhere' is neither a page nor a folder of pages of docs_dir"),
    ("report_page: report.html", "option report_page 'report.html': expected a page name ending in .md"),
])
def test_mkdocs_bad_option_is_a_named_error(tmp_path, option, expected):
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# A page\n", encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(f"site_name: t\nplugins:\n  - lmverify:\n      {option}\n", encoding="utf-8")
    passed, records, _ = _mkdocs(tmp_path, tmp_path / "site")
    errors = [r.getMessage() for r in records if r.levelno >= logging.ERROR]
    assert not passed and any(expected in m for m in errors), errors


PAGE = """# Title

The ratio is \\(r \\approx 0.52\\) and the count is 17 here, `code 3` too.

| a | b |
|---|---|
| \\(x = 1.5\\) | 2.25 |

\\[
M = \\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}
\\]

Done.
"""


def _mark_for(page, text_, line, verdict="error"):
    n = next(x for x in page.numbers if x.text == text_ and x.line == line)
    return Mark(page.name, line, n, verdict, f"q{text_}", text_, "9", "why", "ex")


def test_mkdocs_mark_placement_after_math_span_text_cell_and_display():
    page = parse_page(PAGE, "p.md")
    marks = [_mark_for(page, "0.52", 3), _mark_for(page, "17", 3), _mark_for(page, "1.5", 7),
             _mark_for(page, "2.25", 7), _mark_for(page, "3", 10)]
    out = place(PAGE, page, marks).split("\n")
    assert all(m.placed for m in marks)
    assert out[2].startswith("The ratio is \\(r \\approx 0.52\\)" + mark_html(marks[0]) + " and the count is 17"
                             + mark_html(marks[1]) + " here, `code 3` too.")
    assert out[6] == "| \\(x = 1.5\\)" + mark_html(marks[2]) + " | 2.25" + mark_html(marks[3]) + " |"
    assert out[10] == "\\]" and out[11] == "" and out[12].startswith('<div class="lmv-after-display"')
    assert marks[4].apart and "q3: 3 \u2192 9" in out[12] and out[13] == ""
    assert "|" not in mark_html(marks[0]).replace("&#124;", "")


def test_mkdocs_mark_text_is_inert_in_markdown_and_math():
    import markdown as md

    s = "a \\(x\\) *b* | c_d `e` <f> & [g](h)"
    rendered = md.markdown(text(s), extensions=["pymdownx.arithmatex"])
    assert "arithmatex" not in rendered and "<em>" not in rendered and "<a " not in rendered
    from html import unescape

    assert unescape(re.sub(r"</?p>", "", rendered)) == s
