"""The verification report: coverage matrix, every claim with its verdict, and the errata.

Markdown on stdout (``lmverify report``), optionally JUnit XML (``--junit FILE``), one
testcase per claim, failing for errata, so course CI can show them.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lmverify import coverage
from lmverify.pages import CourseError, course_pages, locate, number_after_anchor, read_page, row_lines
from lmverify.worked import ClaimResult, Example, compute, evaluate, judge, load_all_examples


@dataclass
class ExampleReport:
    example: Example
    results: list[ClaimResult]
    page_lines: dict[int, int | None] = field(default_factory=dict)  # claim index -> line found in the page
    page_problems: dict[int, str] = field(default_factory=dict)
    cell_lines: dict[int, list[int]] = field(default_factory=dict)  # matrix claims: line of each printed row
    page_numbers: dict[int, str] = field(default_factory=dict)  # claim index -> the number the page prints now
    mismatches: list[str] = field(default_factory=list)  # recorded verdict != computed


@dataclass
class Erratum:
    page: str
    line: int
    section: str
    example: str
    what: str
    claimed: str
    correct: str
    kind: str
    explanation: str


def build(course: Path | None = None, examples: list[Example] | None = None) -> list[ExampleReport]:
    """Every example's claims judged; with ``course``, located in the pages (a missing or undecodable
    page raises :class:`lmverify.pages.CourseError` naming it, once, before anything is judged)."""
    examples = load_all_examples() if examples is None else examples
    if course is not None:
        available = set(course_pages(course))
        missing = sorted({ex.page for ex in examples} - available)
        if missing:
            raise CourseError(f"--course {str(course)!r}: the folder lacks the page(s) {', '.join(missing)} "
                              f"(it has {', '.join(sorted(available))})")
    reports = []
    for ex in examples:
        quantities = compute(ex, "numpy")
        results = [judge(c, quantities) for c in ex.claims]
        rep = ExampleReport(ex, results)
        if course is not None:
            lines = read_page(course, ex.page).splitlines()  # CourseError names a missing or undecodable page
            for i, r in enumerate(results):
                line, why = locate(r.claim, lines)
                rep.page_lines[i] = line
                if line is None and _reads_a_number(r.claim):
                    found = number_after_anchor(r.claim, lines)
                    if found is not None:  # the page prints another number now: judge that one
                        line, text = found
                        rep.page_lines[i], rep.page_numbers[i] = line, text
                        results[i] = judge(dataclasses.replace(r.claim, claimed=text), quantities)
                        continue
                if line is None:
                    rep.page_problems[i] = why
                elif r.claim.is_matrix and r.claim.printed is None and isinstance(r.claim.claimed[0], list):
                    rep.cell_lines[i] = row_lines(r.claim, lines, line)
        for i, r in enumerate(results):
            if i not in rep.page_numbers and r.verdict != r.claim.verdict:
                rep.mismatches.append(f"{r.claim.label}: recorded {r.claim.verdict}, computed {r.verdict}")
        reports.append(rep)
    return reports


def _reads_a_number(claim) -> bool:
    """A scalar claim printed as a plain number (not a matrix, a formula or a qualitative bound)."""
    return not claim.is_matrix and not claim.qualitative and not claim.statistical


def _claimed_text(r: ClaimResult) -> str:
    c = r.claim.claimed
    if isinstance(c, list):
        return str(c).replace("'", "")
    return str(c)


def errata(reports: list[ExampleReport]) -> list[Erratum]:
    out = []
    for rep in reports:
        ex = rep.example
        for i, r in enumerate(rep.results):
            if r.verdict in ("correct", "carried"):  # carried rounding is listed apart, never an erratum
                continue
            line = rep.page_lines.get(i) or r.claim.line
            expl = r.claim.explanation or r.detail or ""
            if r.cells and r.wrong_cells:
                for cell in r.wrong_cells:
                    idx = ", ".join(map(str, cell.index))
                    rows = rep.cell_lines.get(i)
                    cell_line = rows[cell.index[0]] if rows and len(cell.index) == 2 else line
                    out.append(Erratum(ex.page, cell_line, ex.section, ex.id, f"{r.claim.label}[{idx}]", cell.claimed,
                                       cell.correct, r.verdict if cell.verdict == "error" else cell.verdict, expl))
            else:
                out.append(Erratum(ex.page, line, ex.section, ex.id, r.claim.label, _claimed_text(r),
                                   r.correct_text, r.verdict, expl))
    return out


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def markdown(reports: list[ExampleReport], course: Path | None = None, topic: str | None = None) -> str:
    rows = coverage.coverage()
    if topic:
        rows = [r for r in rows if r["id"].startswith(topic + ".")]
    out = ["# Verification report: Foundations of Language Modeling", ""]
    n_claims = sum(len(r.results) for r in reports)
    counts: dict[str, int] = {}
    for rep in reports:
        for r in rep.results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
    out.append(f"Course pages: {course if course else 'not given (claims located by their recorded lines)'}  ")
    out.append(f"Worked examples: {len(reports)}; claims: {n_claims}; "
               + ", ".join(f"{k}: {counts.get(k, 0)}" for k in ("correct", "carried", "rounding", "convention", "error")))
    out += ["", "## Equation catalogue coverage", "", coverage.coverage_markdown(rows), ""]
    if course is not None:
        examples = coverage.page_examples(course)
        if topic:
            pages = {eq["page"] for eq in coverage.load() if eq["topic"] == topic}
            examples = [r for r in examples if r["page"] in pages]
        out += ["## Worked examples of the pages", "", coverage.page_examples_markdown(examples), ""]
    out += ["## Worked examples", ""]
    for rep in reports:
        ex = rep.example
        out.append(f"### {ex.id}: {ex.title}")
        out.append(f"{ex.page}, section \"{ex.section}\" ({ex.topic}/{ex.path.name})")
        out.append("")
        out.append("| claim | line | claimed | recomputed | verdict |")
        out.append("|---|---|---|---|---|")
        for i, r in enumerate(rep.results):
            line = rep.page_lines.get(i, r.claim.line) or f"{r.claim.line} (NOT FOUND)"
            detail = f" ({r.detail})" if r.detail else ""
            out.append(f"| {_md_escape(r.claim.label)} | {line} | {_md_escape(_claimed_text(r))} | "
                       f"{_md_escape(r.correct_text)}{_md_escape(detail)} | **{r.verdict}** |")
        out.append("")
        for i, text in rep.page_numbers.items():
            r, recorded = rep.results[i], ex.claims[i]
            out.append(f"- the page now prints {text} (recorded {recorded.claimed!r} as {recorded.verdict}); judged: "
                       f"**{r.verdict}**{' - the erratum is fixed' if r.verdict == 'correct' else ''}")
        for i, why in rep.page_problems.items():
            out.append(f"- changed content: {rep.results[i].claim.label}: {why}")
        for m in rep.mismatches:
            out.append(f"- verdict differs from the record: {m}")
        if rep.page_problems or rep.mismatches or rep.page_numbers:
            out.append("")
    carried = [(rep, i, r) for rep in reports for i, r in enumerate(rep.results) if r.verdict == "carried"]
    if carried:
        out += ["## Carried rounding (not errata)", "",
                "Numbers that are right for the page's own printed, rounded intermediates, though the exact value "
                "rounds differently.", "", "| page | line | claim | printed | exact value rounded | why |",
                "|---|---|---|---|---|---|"]
        for rep, i, r in carried:
            out.append(f"| {rep.example.page} | {rep.page_lines.get(i) or r.claim.line} | {_md_escape(r.claim.label)} | "
                       f"{_md_escape(_claimed_text(r))} | {_md_escape(r.correct_text)} | {_md_escape(r.detail)} |")
        out.append("")
    errs = errata(reports)
    out += ["## Errata", ""]
    if not errs:
        out.append("No errata: every claim is correct at its printed precision.")
    else:
        out.append("| page | line | section | claim | claimed | correct | kind | explanation |")
        out.append("|---|---|---|---|---|---|---|---|")
        for e in errs:
            out.append(f"| {e.page} | {e.line} | {_md_escape(e.section)} | {_md_escape(e.what)} | "
                       f"{_md_escape(e.claimed)} | {_md_escape(e.correct)} | {e.kind} | {_md_escape(e.explanation)} |")
    changed = sum(len(r.page_problems) for r in reports)
    mism = sum(len(r.mismatches) for r in reports)
    out += ["", f"Summary: {len(errs)} erratum line(s); {changed} claim(s) no longer found in the page; "
                f"{mism} verdict(s) differ from the record."]
    return "\n".join(out) + "\n"


# -- baselines and gates ------------------------------------------------------------------------

KINDS = ("error", "rounding", "convention")


def _key(e: Erratum) -> tuple[str, str, str, str]:
    return (e.page, e.example, e.what, e.claimed)


def write_baseline(reports: list[ExampleReport], path: Path) -> int:
    """The current errata as accepted (JSON, to commit in the course repository); returns how many."""
    import json

    errs = errata(reports)
    rows = [{"page": e.page, "example": e.example, "claim": e.what, "claimed": e.claimed, "kind": e.kind,
             "correct": e.correct} for e in errs]
    path.write_text(json.dumps({"lmverify_baseline": 1, "errata": rows}, indent=1) + "\n", encoding="utf-8")
    return len(rows)


def read_baseline(path: Path) -> set[tuple[str, str, str, str]]:
    import json

    from lmverify.worked import WorkedExampleError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {(r["page"], r["example"], r["claim"], r["claimed"]) for r in data["errata"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WorkedExampleError(f"--baseline {str(path)!r}: not a baseline written by `lmverify report "
                                 f"--write-baseline` ({type(exc).__name__}: {exc})") from None


def gate(reports: list[ExampleReport], fail_on: set[str], baseline: set | None = None) -> tuple[list[Erratum], list]:
    """(new errata of the kinds in ``fail_on``, baseline entries no longer errata: fixed)."""
    errs = errata(reports)
    current = {_key(e) for e in errs}
    kinds = set(KINDS) if "any" in fail_on else fail_on
    new = [e for e in errs if e.kind in kinds and (baseline is None or _key(e) not in baseline)]
    fixed = sorted(baseline - current) if baseline else []
    return new, fixed


def junit(reports: list[ExampleReport], path: Path, course: Path | None = None) -> None:
    """JUnit XML: one test case per judged number, so the failures are exactly the errata of the report
    (a matrix claim counts each wrong cell), plus one failure per claim no longer found in the page.

    ``classname`` is ``<page stem>.<example name>`` (a viewer groups by page, then example), ``file`` the
    page (under the course folder when given) and ``line`` the line of the number in the page.
    """
    suite = ET.Element("testsuite", name="lmverify-report")
    n = failures = 0
    wrong = {(e.example, e.what): e for e in errata(reports)}
    for rep in reports:
        ex = rep.example
        classname = f"{Path(ex.page).stem}.{ex.id.split('.', 1)[-1]}"
        file = str(course / ex.page) if course is not None else ex.page
        for i, r in enumerate(rep.results):
            line = rep.page_lines.get(i) or r.claim.line
            cells = ([(f"{r.claim.label}[{', '.join(map(str, c.index))}]", c) for c in r.cells]
                     if r.cells else [(r.claim.label, None)])
            for label, _cell in cells:
                n += 1
                e = wrong.get((ex.id, label))
                case = ET.SubElement(suite, "testcase", classname=classname, name=label, file=file,
                                     line=str(e.line if e else line))
                if e is not None:
                    failures += 1
                    msg = f"{e.page}:{e.line}: {e.kind}: claimed {e.claimed}, correct {e.correct}"
                    ET.SubElement(case, "failure", message=msg, type=e.kind).text = e.explanation or msg
            if i in rep.page_problems:
                n += 1
                failures += 1
                case = ET.SubElement(suite, "testcase", classname=classname, name=f"{r.claim.label} (located)",
                                     file=file, line=str(r.claim.line))
                msg = f"{ex.page}:{r.claim.line}: changed content: {rep.page_problems[i]}"
                ET.SubElement(case, "failure", message=msg, type="changed").text = msg
    suite.set("tests", str(n))
    suite.set("failures", str(failures))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def github_annotations(reports: list[ExampleReport], course: Path | None = None) -> str:
    """GitHub Actions workflow commands: each erratum as ``::error file=…,line=…::…`` on its page line
    (``::warning`` for rounding), so a pull request shows it on the page."""
    def esc(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    out = []
    for e in errata(reports):
        level = "warning" if e.kind == "rounding" else "error"
        file = str(course / e.page) if course is not None else e.page
        out.append(f"::{level} file={file},line={e.line},title={e.kind}: {esc(e.what)}::"
                   f"{esc(f'claimed {e.claimed}, correct {e.correct}. {e.explanation}')}")
    for rep in reports:
        for i, why in rep.page_problems.items():
            file = str(course / rep.example.page) if course is not None else rep.example.page
            out.append(f"::error file={file},line={rep.example.claims[i].line},title=changed content::{esc(why)}")
    return "\n".join(out) + ("\n" if out else "")


def trace(example: Example, backend: str = "numpy", places: int = 4) -> str:
    """Every quantity of a worked example at full precision, its exact SymPy form (where the recipe runs
    exactly), a Markdown/LaTeX block rounded to ``places``, and each claim (if any) rounded as printed."""
    from lmverify.backends import Backend
    from lmverify.worked import NotForBackend, compute, compute_native

    q = compute(example, backend)
    out = [f"# Trace of {example.id} ({example.path}) on {backend}", "", "## Full precision", ""]
    for name, value in q.items():
        arr = np.asarray(value)
        with np.printoptions(precision=17, floatmode="maxprec", linewidth=120):
            out.append(f"{name} = {arr!s}" if arr.ndim else f"{name} = {float(arr)!r}")
    try:
        exact = compute_native(example, Backend("sympy"))
    except NotForBackend as exc:
        exact = None
        out += ["", f"(no exact form: {exc})"]
    if exact is not None:
        import sympy as sp

        out += ["", "## Exact (SymPy)", ""]
        for name, value in exact.items():
            try:
                if isinstance(value, sp.Expr) and sp.count_ops(value) < 200:
                    value = sp.simplify(value)
                out.append(f"{name} = {value}")
            except (TypeError, ValueError):
                out.append(f"{name} = {value}")
        out += ["", f"## Rounded to {places} places (Markdown with LaTeX; every number is its exact value rounded)", ""]
        for name, value in q.items():
            if isinstance(value, (str, bool)):
                continue
            arr = np.asarray(value, dtype=np.float64)
            tex = name.replace("_", "\\_")
            if arr.ndim == 0:
                out.append(f"- \\({tex} \\approx {float(arr):.{places}f}\\)")
            else:
                rows = np.atleast_2d(arr)
                body = r" \\ ".join(" & ".join(f"{v:.{places}f}" for v in row) for row in rows)
                out.append(f"- \\({tex} \\approx \\begin{{bmatrix}} {body} \\end{{bmatrix}}\\)")
    if example.claims:
        out += ["", "## Claims", "", "| claim | claimed | correctly rounded | verdict |", "|---|---|---|---|"]
        for r in evaluate(example, backend):
            out.append(f"| {r.claim.label} | {_claimed_text(r)} | {r.correct_text} | {r.verdict} |")
    return "\n".join(out) + "\n"
