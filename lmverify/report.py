"""The verification report: coverage matrix, every claim with its verdict, the errata, the equations of
the pages and their code blocks.

Markdown on stdout (``lmverify report``), optionally JUnit XML (``--junit FILE``: one testcase per judged
number, per checked equation and per code block, failing for errata, changed equations and failing
blocks) and GitHub Actions annotations (``--github``), so course CI can show them on the page lines.

What fails a report (``--fail-on KINDS``; ``any`` = all of them), each a *finding* with a page and a line:

* ``error``, ``rounding``, ``convention``: errata, claims judged against the number the page prints now;
* ``equation``: a catalogued equation whose LaTeX is no longer in its page (the nearest line is named);
* ``code``: a python block of a page that fails (its page line and the last line of its error), or
  prints other than the output the page states for it.

Carried rounding is listed apart and never fails. A baseline (``--write-baseline FILE``) accepts the
current findings: with ``--baseline FILE`` only findings not in it fail, and fixed ones are reported.

Library use (what ``lmverify report`` does): ``reports = build(course, examples_dir=..., code=True)``,
then ``markdown(reports)``, ``junit(reports, path)``, ``github_annotations(reports)``,
``gate(reports, {"any"}, read_baseline(path))``; or ``main([...])`` with the command's arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lmverify import coverage
from lmverify.course.course import Course, as_course
from lmverify.course.judging import MISSING, ExampleReport, judge_example
from lmverify.pages import (
    BlockResult,
    CourseError,
    course_pages,
    locate,
    locate_text,
    members_after_anchor,
    nearest_candidate,
    number_after_anchor,
    read_page,
    row_lines,
    run_course_code,
    vector_after_anchor,
)
from lmverify.worked import (  # noqa: F401 - load_all_examples is part of this module's API
    ClaimResult,
    Example,
    WorkedExampleError,
    compute,
    evaluate,
    judge,
    load_all_examples,
)


@dataclass
class Erratum:
    """A finding: an erratum of a claim (kind error/rounding/convention), a changed equation (kind
    ``equation``) or a failing code block (kind ``code``)."""

    page: str
    line: int
    section: str
    example: str
    what: str
    claimed: str
    correct: str
    kind: str
    explanation: str
    ident: str = ""  # names the finding in a baseline when ``what`` holds a line number (code blocks)


@dataclass
class EquationCheck:
    """A catalogued equation looked up in its page: ``line`` where its LaTeX is now, or None (changed),
    with the nearest resembling line."""

    id: str
    page: str
    recorded_line: int
    latex: str
    line: int | None
    candidate: tuple[int, str] | None = None

    @property
    def changed(self) -> bool:
        return self.line is None


class Reports(list):
    """The example reports (a list, as before) and what else the report checked: ``course``, ``code``
    (code blocks, or None when not run), ``equations`` (checked against the pages), ``page_examples``
    (every worked example printed in the pages and what covers it), ``topic``, ``catalogue`` (False when
    the equations came from another file than the project's catalogue)."""

    def __init__(self, items=(), **attrs):
        super().__init__(items)
        self.course: Path | None = attrs.get("course")
        self.code: list[BlockResult] | None = attrs.get("code")
        self.equations: list[EquationCheck] = attrs.get("equations") or []
        self.page_examples: list[dict] | None = attrs.get("page_examples")
        self.topic: str | None = attrs.get("topic")
        self.catalogue: bool = attrs.get("catalogue", True)
        self.accounts: list = attrs.get("accounts") or []  # per page: how each printed number is accounted for


def load_equations(path: Path) -> list[dict[str, Any]]:
    """Equations to check in the pages from a YAML file other than the catalogue (a course repository's
    own, the tests' mini-course): a list, or ``{equations: [...]}``, of ``{id, page, line, latex}``."""
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise WorkedExampleError(f"{path}: cannot read the equations file: {exc}") from None
    rows = data.get("equations") if isinstance(data, dict) else data
    if not isinstance(rows, list):
        raise WorkedExampleError(f"{path}: expected a list of equations (id, page, line, latex)")
    for i, eq in enumerate(rows):
        missing = [k for k in ("id", "page", "line", "latex") if not isinstance(eq, dict) or k not in eq]
        if missing:
            raise WorkedExampleError(f"{path}: equations[{i}]: missing key(s) {', '.join(missing)}")
        eq.setdefault("displayed", True)
    return rows


def _scope(course: Path, examples: list[Example], topic: str | None, equations: list[dict]) -> list[str]:
    """The pages a report looks at: all the course's pages, or with ``topic`` the pages of its equations and
    examples."""
    pages = course_pages(course)
    if topic is None:
        return pages
    wanted = {eq["page"] for eq in equations} | {ex.page for ex in examples}
    return [p for p in pages if p in wanted]


def check_equations(course: Path, equations: list[dict[str, Any]]) -> list[EquationCheck]:
    """Every displayed equation's LaTeX looked up in its page (whitespace-insensitive, the occurrence
    nearest the recorded line); a changed one names the nearest resembling line."""
    out, cache = [], {}
    for eq in equations:
        if not eq.get("displayed", True):
            continue
        if eq["page"] not in cache:
            cache[eq["page"]] = read_page(course, eq["page"]).splitlines()
        lines = cache[eq["page"]]
        line = locate_text(eq["latex"], lines, eq["line"])
        cand = nearest_candidate(eq["latex"], lines, eq["line"]) if line is None else None
        out.append(EquationCheck(eq["id"], eq["page"], eq["line"], eq["latex"], line, cand))
    return out


def build(course: Path | None = None, examples: list[Example] | None = None, *, examples_dir: Path | None = None,
          code: bool = False, code_timeout: float = 120.0, equations: list[dict] | None = None,
          topic: str | None = None) -> Reports:
    """Every example's claims judged; with ``course``, located in the pages (a missing or undecodable
    page raises :class:`lmverify.pages.CourseError` naming it, once, before anything is judged), the
    pages' displayed equations looked up, the pages' worked examples matched with the files that cover
    them and, with ``code=True``, every python block of the pages run (``code_timeout`` seconds each).

    ``examples``: the examples to judge (default: all under ``examples_dir``, default ``worked_examples/``,
    of ``topic`` if given). ``equations``: the equations to look up (default: the project's catalogue, of
    ``topic`` if given; see :func:`load_equations` for another file)."""
    if examples is None:
        examples = load_all_examples(examples_dir)
        if topic:
            examples = [e for e in examples if e.topic == topic]
    custom = equations is not None
    if equations is None:
        from lmverify.catalogue import load

        equations = [eq for eq in load() if topic is None or eq["topic"] == topic]
    if course is not None:
        available = set(course_pages(course))
        missing = sorted({ex.page for ex in examples} - available)
        if missing:
            raise CourseError(f"--course {str(course)!r}: the folder lacks the page(s) {', '.join(missing)} "
                              f"(it has {', '.join(sorted(available))})")
    pages = as_course(course)
    reports = Reports(course=pages.folder if pages is not None else None, topic=topic, catalogue=not custom)
    reports.pages = pages
    for ex in examples:
        reports.append(judge_example(ex, pages))
    if pages is not None:
        from lmverify.course.accounting import account, load_unjudged
        from lmverify.worked import EXAMPLES_DIR

        unjudged = load_unjudged(Path(examples_dir) if examples_dir else EXAMPLES_DIR)
        scope_pages = _scope(pages.folder, examples, topic, equations)
        reports.accounts = [account(pages.page(p), [r for r in reports if r.example.page == p], unjudged.get(p, []))
                            for p in scope_pages if p in {ex.page for ex in examples} | set(unjudged)]
    if course is not None:
        course = pages.folder
        eq_pages = set(pages.pages)
        scope = _scope(course, examples, topic, equations)
        reports.equations = check_equations(course, [eq for eq in equations if eq["page"] in eq_pages])
        reports.page_examples = coverage.page_examples(pages, pages=scope, reports=list(reports))
        if code:
            reports.code = run_course_code(course, scope, timeout=code_timeout)
    return reports


def _locate_list(rep: ExampleReport, i: int, quantities: dict, lines: list[str]) -> None:
    """A list claim: the members the page prints now after its anchor, judged (a changed list is judged
    afresh, as a changed number is)."""
    r = rep.results[i]
    found = members_after_anchor(r.claim, lines)
    if found is None:
        cand = nearest_candidate(r.claim.printed or r.claim.anchor, lines, r.claim.line)
        rep.page_problems[i] = (f"anchor {r.claim.anchor!r} with a list after it not found in the page"
                                + (f"; nearest candidate: line {cand[0]}" if cand else ""))
        rep.page_lines[i] = None
        return
    line, members, text = found
    rep.page_lines[i] = line
    if [str(m).strip() for m in r.claim.claimed] != members:
        rep.page_numbers[i] = text
        rep.results[i] = judge(dataclasses.replace(r.claim, claimed=members), quantities)


def _reads_a_number(claim) -> bool:
    """A scalar claim printed as a plain number (not a matrix, a list, a formula or a qualitative bound)."""
    return not claim.is_matrix and not claim.is_list and not claim.qualitative and not claim.statistical


def _claimed_text(r: ClaimResult) -> str:
    c = r.claim.claimed
    if r.claim.is_list:
        return ", ".join(str(m) for m in c)
    if isinstance(c, list):
        return str(c).replace("'", "")
    return str(c)


def errata(reports: list[ExampleReport]) -> list[Erratum]:
    """The errata of the claims (kinds error, rounding, convention), one per wrong number (a matrix claim
    one per wrong cell); carried rounding is not an erratum."""
    out = []
    for rep in reports:
        ex = rep.example
        for i, r in enumerate(rep.results):
            if r.verdict in ("correct", "carried", MISSING):  # carried is listed apart; missing is not judged
                continue
            line = rep.page_lines.get(i) or r.claim.line
            expl = r.claim.explanation or r.detail or ""
            if r.claim.is_list and r.claim.explanation and r.detail:
                expl = f"{r.claim.explanation} ({r.detail})"
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


def missing_claims(reports: list[ExampleReport]) -> list[Erratum]:
    """Claims whose context is gone from the page (kind ``missing``): never judged, never correct; each with
    why and the nearest candidate."""
    out = []
    for rep in reports:
        ex = rep.example
        for i in rep.missing:
            r = rep.results[i]
            out.append(Erratum(ex.page, r.claim.line, ex.section, ex.id, r.claim.label, _claimed_text(r), "(not found)",
                               MISSING, rep.page_problems.get(i, r.detail), ident=f"missing {r.claim.label}"))
        for why in rep.input_problems:
            out.append(Erratum(ex.page, 0, ex.section, ex.id, why.split(":", 1)[0], "", "(not found)", MISSING, why,
                               ident=f"missing {why.split(':', 1)[0]}"))
    return out


def changed_equations(reports: list[ExampleReport]) -> list[Erratum]:
    """Catalogued equations whose LaTeX is no longer in the page (kind ``equation``), at the nearest line."""
    out = []
    for eq in getattr(reports, "equations", None) or []:
        if not eq.changed:
            continue
        line, text = eq.candidate if eq.candidate else (eq.recorded_line, "")
        out.append(Erratum(eq.page, line, "", "equation", eq.id, text or "(not found)", eq.latex, "equation",
                           f"the catalogued LaTeX of {eq.id} (recorded at line {eq.recorded_line}) is no longer in "
                           f"the page" + (f"; the nearest line ({line}) reads: {text}" if text else ""),
                           ident=hashlib.sha1(eq.latex.encode("utf-8")).hexdigest()[:12]))
    return out


def failing_code(reports: list[ExampleReport]) -> list[Erratum]:
    """Code blocks that fail, or print other than the page states (kind ``code``), at the failing line."""
    out = []
    for b in getattr(reports, "code", None) or []:
        if not b.failing:
            continue
        why = b.reason if b.status == "failed" else b.output
        out.append(Erratum(b.page, b.error_line or b.line, "", "code", f"code block at line {b.line}",
                           why, "runs" if b.status == "failed" else "prints what the page states", "code",
                           f"{b.page}:{b.error_line or b.line}: {why}", ident=f"code block {b.digest}"))
    return out


def findings(reports: list[ExampleReport]) -> list[Erratum]:
    """Everything a gate looks at: errata, changed equations, failing code blocks."""
    return errata(reports) + missing_claims(reports) + changed_equations(reports) + failing_code(reports)


def _number_context(page, n) -> str:
    if page is None:
        return n.text
    before, after = page.context(n, 24, 12)
    return f"{before}[{n.text}]{after}"


def _md_escape(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def markdown(reports: list[ExampleReport], course: Path | None = None, topic: str | None = None) -> str:
    course = course if course is not None else getattr(reports, "course", None)
    topic = topic if topic is not None else getattr(reports, "topic", None)
    out = ["# Verification report: Foundations of Language Modeling", ""]
    n_claims = sum(len(r.results) for r in reports)
    counts: dict[str, int] = {}
    for rep in reports:
        for r in rep.results:
            counts[r.verdict] = counts.get(r.verdict, 0) + 1
    out.append(f"Course pages: {course if course else 'not given (claims located by their recorded lines)'}  ")
    out.append(f"Worked examples: {len(reports)}; claims: {n_claims}; "
               + ", ".join(f"{k}: {counts.get(k, 0)}" for k in ("correct", "carried", "rounding", "convention", "error",
                                                                  MISSING))
               + "  ")
    if course is not None:
        blocks, eqs = getattr(reports, "code", None), getattr(reports, "equations", None) or []
        pages = {r["page"] for r in getattr(reports, "page_examples", None) or []} | {rep.example.page for rep in reports}
        pages |= {e.page for e in eqs} | {b.page for b in blocks or []}
        ran = ("not run" if blocks is None else
               ", ".join(f"{sum(1 for b in blocks if b.status == s)} {s}" for s in ("ran", "skipped", "failed")))
        out.append(f"Pages checked: {len(pages)}; displayed equations looked up: {len(eqs)} "
                   f"({sum(1 for e in eqs if e.changed)} changed); code blocks: "
                   f"{len(blocks) if blocks is not None else '-'} ({ran})")
    if getattr(reports, "catalogue", True):
        rows = coverage.coverage()
        if topic:
            rows = [r for r in rows if r["id"].startswith(topic + ".")]
        out += ["", "## Equation catalogue coverage", "", coverage.coverage_markdown(rows), ""]
    else:
        out.append("")
    checked = getattr(reports, "equations", None) or []
    if course is not None and checked:
        changed = [e for e in checked if e.changed]
        moved = [e for e in checked if not e.changed and abs(e.line - e.recorded_line) > 3]
        out += ["## Equations of the pages", "",
                f"{len(checked) - len(changed)} / {len(checked)} displayed equations are printed in their page "
                f"as catalogued" + (f"; {len(moved)} moved more than 3 lines" if moved else "") + "."]
        if changed:
            out += ["", "| page | recorded line | equation | catalogued LaTeX | nearest line in the page now |",
                    "|---|---|---|---|---|"]
            for e in changed:
                near = f"{e.candidate[0]}: `{e.candidate[1]}`" if e.candidate else "none"
                out.append(f"| {e.page} | {e.recorded_line} | `{e.id}` | `{_md_escape(e.latex)}` | {_md_escape(near)} |")
        out.append("")
    if course is not None:
        examples = getattr(reports, "page_examples", None)
        if examples is None:
            examples = coverage.page_examples(getattr(reports, "pages", None) or course, reports=list(reports))
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
            line = rep.page_lines.get(i, r.claim.line) or "(missing)"
            detail = f" ({r.detail})" if r.detail else ""
            out.append(f"| {_md_escape(r.claim.label)} | {line} | {_md_escape(_claimed_text(r))} | "
                       f"{_md_escape(r.correct_text)}{_md_escape(detail)} | **{r.verdict}** |")
        out.append("")
        for i, text in rep.page_numbers.items():
            r, recorded = rep.results[i], ex.claims[i]
            out.append(f"- the page now prints {text} (recorded {recorded.claimed!r} as {recorded.verdict}); judged: "
                       f"**{r.verdict}**{' - the erratum is fixed' if r.verdict == 'correct' else ''}")
        for c in rep.input_changes:
            out.append(f"- input changed: {c.name} from {c.recorded} to {c.page} (line {c.line}); every claim that "
                       f"depends on it is recomputed")
        for why in rep.input_problems:
            out.append(f"- missing input (the transcribed value is used): {why}")
        for i, why in rep.page_problems.items():
            out.append(f"- missing: {rep.results[i].claim.label}: {why}")
        for m in rep.mismatches:
            out.append(f"- verdict differs from the record: {m}")
        if rep.page_problems or rep.mismatches or rep.page_numbers or rep.input_changes or rep.input_problems:
            out.append("")
    accounts = getattr(reports, "accounts", None) or []
    if accounts:
        out += ["## Printed numbers accounted for", "",
                "Every number of a worked-example box, and every number after = or ≈ in the running text, is a "
                "judged claim, an input read from the page, or declared unjudged with a reason.", "",
                "| page | numbers accounted | unaccounted (line: context) |", "|---|---|---|"]
        for acc in accounts:
            page = reports.pages.page(acc.page) if getattr(reports, "pages", None) else None
            shown = "; ".join(f"{n.line}: `{_number_context(page, n)}`" for n in acc.unaccounted[:12])
            more = f" (and {len(acc.unaccounted) - 12} more)" if len(acc.unaccounted) > 12 else ""
            out.append(f"| {acc.page} | {acc.accounted} of {len(acc.counted)} | {_md_escape(shown + more) or '-'} |")
        stale = [s for acc in accounts for s in acc.stale]
        if stale:
            out += ["", "Unjudged records that no longer find their number:", ""] + [f"- {_md_escape(s)}" for s in stale]
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
    blocks = getattr(reports, "code", None)
    if course is not None:
        out += ["", "## Code blocks", ""]
        if blocks is None:
            out.append("Not run (`--no-code`).")
        elif not blocks:
            out.append("The pages have no python code blocks.")
        else:
            out += ["| page | line | result | seconds | reason | stated output |", "|---|---|---|---|---|---|"]
            for b in blocks:
                where = f" (line {b.error_line})" if b.error_line else ""
                shown = b.output or ("-" if b.block.stated_output is None else "not compared (the block did not run)")
                out.append(f"| {b.page} | {b.line} | **{b.status}** | {b.seconds:.1f} | "
                           f"{_md_escape(b.reason + where) or '-'} | {_md_escape(shown)} |")
            n = {s: sum(1 for b in blocks if b.status == s) for s in ("ran", "skipped", "failed")}
            differ = sum(1 for b in blocks if b.output and b.output != "as stated")
            out += ["", f"{len(blocks)} code block(s): {n['ran']} ran, {n['skipped']} skipped, {n['failed']} failed"
                        + (f"; {differ} printed other than the page states" if differ else "") + "."]
    changed = sum(len(r.page_problems) for r in reports)
    mism = sum(len(r.mismatches) for r in reports)
    extra = ""
    if course is not None:
        extra = (f"; {len(changed_equations(reports))} equation(s) changed in the page"
                 + (f"; {len(failing_code(reports))} failing code block(s)" if blocks is not None else ""))
    out += ["", f"Summary: {len(errs)} erratum line(s); {changed} claim(s) missing from the page (not judged); "
                f"{mism} verdict(s) differ from the record{extra}."]
    return "\n".join(out) + "\n"


# -- baselines and gates ------------------------------------------------------------------------

KINDS = ("error", "rounding", "convention", "missing", "equation", "code")


def _key(e: Erratum) -> tuple[str, str, str, str]:
    return (e.page, e.example, e.ident or e.what, e.claimed if not e.ident else e.kind)


def write_baseline(reports: list[ExampleReport], path: Path) -> int:
    """The current findings as accepted (JSON, to commit in the course repository); returns how many."""
    import json

    rows = []
    for e in findings(reports):
        k = _key(e)
        rows.append({"page": e.page, "example": e.example, "claim": k[2], "claimed": k[3], "kind": e.kind,
                     "correct": e.correct, **({"what": e.what} if e.ident else {})})
    path.write_text(json.dumps({"lmverify_baseline": 1, "errata": rows}, indent=1) + "\n", encoding="utf-8")
    return len(rows)


def read_baseline(path: Path) -> set[tuple[str, str, str, str]]:
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return {(r["page"], r["example"], r["claim"], r["claimed"]) for r in data["errata"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WorkedExampleError(f"--baseline {str(path)!r}: not a baseline written by `lmverify report "
                                 f"--write-baseline` ({type(exc).__name__}: {exc})") from None


def gate(reports: list[ExampleReport], fail_on: set[str], baseline: set | None = None) -> tuple[list[Erratum], list]:
    """(new findings of the kinds in ``fail_on``, baseline entries no longer found: fixed)."""
    found = findings(reports)
    current = {_key(e) for e in found}
    kinds = set(KINDS) if "any" in fail_on else set(fail_on)
    new = [e for e in found if e.kind in kinds and (baseline is None or _key(e) not in baseline)]
    fixed = sorted(baseline - current) if baseline else []
    return new, fixed


def junit(reports: list[ExampleReport], path: Path, course: Path | None = None) -> None:
    """JUnit XML: one test case per judged number, so the failures are exactly the errata of the report
    (a matrix claim counts each wrong cell), plus one failure per claim no longer found in the page; one
    case per displayed equation looked up (failing when changed) and per code block (skipped with its
    reason, failing when it fails).

    ``classname`` is ``<page stem>.<example name>`` (a viewer groups by page, then example; ``.equations``
    and ``.code`` for the others), ``file`` the page (under the course folder when given) and ``line`` the
    line of the number in the page.
    """
    course = course if course is not None else getattr(reports, "course", None)
    suite = ET.Element("testsuite", name="lmverify-report")
    n = failures = skipped = 0
    wrong = {(e.example, e.what): e for e in errata(reports)}

    def file_of(page: str) -> str:
        return str(course / page) if course is not None else page

    for rep in reports:
        ex = rep.example
        classname = f"{Path(ex.page).stem}.{ex.id.split('.', 1)[-1]}"
        file = file_of(ex.page)
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
                msg = f"{ex.page}: missing: {rep.page_problems[i]}"
                ET.SubElement(case, "failure", message=msg, type=MISSING).text = msg
    changed = {e.what: e for e in changed_equations(reports)}
    for eq in getattr(reports, "equations", None) or []:
        n += 1
        e = changed.get(eq.id)
        case = ET.SubElement(suite, "testcase", classname=f"{Path(eq.page).stem}.equations", name=eq.id,
                             file=file_of(eq.page), line=str(e.line if e else eq.line))
        if e is not None:
            failures += 1
            ET.SubElement(case, "failure", message=f"{e.page}:{e.line}: equation changed: {eq.id}",
                          type="equation").text = e.explanation
    failing = {e.ident: e for e in failing_code(reports)}
    for b in getattr(reports, "code", None) or []:
        n += 1
        e = failing.get(f"code block {b.digest}")
        case = ET.SubElement(suite, "testcase", classname=f"{Path(b.page).stem}.code",
                             name=f"code block at line {b.line}", file=file_of(b.page),
                             line=str(e.line if e else b.line), time=f"{b.seconds:.3f}")
        if b.status == "skipped":
            skipped += 1
            ET.SubElement(case, "skipped", message=b.reason)
        elif e is not None:
            failures += 1
            ET.SubElement(case, "failure", message=f"{e.page}:{e.line}: {e.claimed}", type="code").text = \
                e.explanation + ("\n" + b.stdout[-2000:] if b.stdout else "")
    suite.set("tests", str(n))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


def github_annotations(reports: list[ExampleReport], course: Path | None = None) -> str:
    """GitHub Actions workflow commands: each erratum as ``::error file=…,line=…::…`` on its page line
    (``::warning`` for rounding), changed equations and failing code blocks as errors, skipped code blocks
    as notices, so a pull request shows them on the page."""
    course = course if course is not None else getattr(reports, "course", None)

    def esc(text: str) -> str:
        return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def file_of(page: str) -> str:
        return str(course / page) if course is not None else page

    out = []
    for e in errata(reports):
        level = "warning" if e.kind == "rounding" else "error"
        out.append(f"::{level} file={file_of(e.page)},line={e.line},title={e.kind}: {esc(e.what)}::"
                   f"{esc(f'claimed {e.claimed}, correct {e.correct}. {e.explanation}')}")
    for rep in reports:
        for i, why in rep.page_problems.items():
            out.append(f"::error file={file_of(rep.example.page)},line={rep.example.claims[i].line},"
                       f"title=missing::{esc(why)}")
    for e in changed_equations(reports):
        out.append(f"::error file={file_of(e.page)},line={e.line},title=equation changed: {esc(e.what)}::"
                   f"{esc(e.explanation)}")
    for e in failing_code(reports):
        out.append(f"::error file={file_of(e.page)},line={e.line},title=code block failed: {esc(e.what)}::"
                   f"{esc(e.claimed)}")
    for b in getattr(reports, "code", None) or []:
        if b.status == "skipped":
            out.append(f"::notice file={file_of(b.page)},line={b.line},title=code block skipped::{esc(b.reason)}")
    return "\n".join(out) + ("\n" if out else "")


# -- the command: `lmverify report` ------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``lmverify report`` (the CLI's ``report`` subparser calls this)."""
    parser.add_argument("--course", help="folder of the course pages: locate every claim in them, look up their "
                                         "equations and run their code blocks")
    parser.add_argument("--junit", help="also write the claims, equations and code blocks as JUnit XML to this file")
    parser.add_argument("--topic", help="only this topic's equations and examples")
    parser.add_argument("--fail-on-errata", action="store_true", help="exit 1 when the pages have errata (= --fail-on any)")
    parser.add_argument("--fail-on", default=None, metavar="KINDS",
                        help="exit 1 when there are (new, with --baseline) findings of these kinds: comma-separated "
                             "error, rounding, convention (errata), missing (a claim whose context is gone from "
                             "its page), equation (a catalogued equation no longer in its page), code (a failing code block), or any")
    parser.add_argument("--baseline", default=None, metavar="FILE",
                        help="accepted findings (from --write-baseline): only findings not in it trip --fail-on")
    parser.add_argument("--write-baseline", default=None, metavar="FILE", help="write the current findings as accepted")
    parser.add_argument("--github", action="store_true",
                        help="also print the findings as GitHub Actions annotations (::error file=...,line=...::)")
    parser.add_argument("--no-code", action="store_true",
                        help="do not run the pages' python code blocks (they run by default with --course)")
    parser.add_argument("--code-timeout", type=float, default=120.0, metavar="SECONDS",
                        help="time limit of each code block (default 120)")
    parser.add_argument("--examples-dir", default=None, metavar="DIR",
                        help="folder of worked examples, <DIR>/<topic>/<name>.yaml with recipes.py beside them "
                             "(default: the project's worked_examples/)")
    parser.add_argument("--equations", default=None, metavar="FILE",
                        help="YAML list of equations (id, page, line, latex) to look up in the pages instead of "
                             "the project's catalogue")


EPILOG = ("exit codes: 0 ok; 1 findings of the --fail-on kinds (new ones, with --baseline); 2 usage; 3 course "
          "folder or page unusable; 4 malformed project data; 5 pages changed (a claim no longer found, or a "
          "computed verdict differs from the record; not with --baseline)")


def command(args: argparse.Namespace) -> int:
    """Run ``lmverify report`` with parsed ``args``; returns the exit code. Raises CourseError (exit 3) and
    WorkedExampleError / CatalogueError (exit 4) for the caller to map, and SystemExit(2) for usage."""
    from lmverify.cli import EXIT_ERRATA, EXIT_OK, EXIT_OUT_OF_DATE, EXIT_USAGE

    def usage(message: str) -> SystemExit:
        print(f"lmverify: {message}", file=sys.stderr)
        return SystemExit(EXIT_USAGE)

    topic = args.topic
    if topic is not None:
        from lmverify.catalogue import topics

        if topic not in topics() and args.examples_dir is None:
            import difflib

            close = difflib.get_close_matches(topic, topics(), n=1)
            raise usage(f"--topic {topic!r}: unknown topic; expected one of {', '.join(topics())}"
                        + (f" (did you mean {close[0]!r}?)" if close else ""))
    kinds = set(args.fail_on.split(",")) if args.fail_on else set()
    bad = kinds - set(KINDS) - {"any"}
    if bad:
        raise usage(f"--fail-on {args.fail_on!r}: unknown kind(s) {', '.join(sorted(bad))}; "
                    f"expected {', '.join(KINDS)} or any, comma-separated")
    if args.junit and not Path(args.junit).resolve().parent.is_dir():
        raise usage(f"--junit {args.junit!r}: the folder {str(Path(args.junit).resolve().parent)!r} does not exist")
    course = Path(args.course) if args.course else None
    if course is not None:
        course_pages(course)
    equations = load_equations(Path(args.equations)) if args.equations else None
    reports = build(course, examples_dir=Path(args.examples_dir) if args.examples_dir else None,
                    code=course is not None and not args.no_code, code_timeout=args.code_timeout,
                    equations=equations, topic=topic)
    sys.stdout.write(markdown(reports))
    if args.junit:
        junit(reports, Path(args.junit))
    if args.github:
        sys.stdout.write(github_annotations(reports))
    if args.write_baseline:
        n = write_baseline(reports, Path(args.write_baseline))
        print(f"lmverify: wrote {n} accepted finding(s) to {args.write_baseline}", file=sys.stderr)
    if args.fail_on_errata:
        kinds.add("any")
    baseline = read_baseline(Path(args.baseline)) if args.baseline else None
    new, fixed = gate(reports, kinds, baseline)
    for f in fixed:
        print(f"lmverify: fixed since the baseline: {f[0]} {f[2]} (was {f[3]})", file=sys.stderr)
    if new:
        for e in new:
            said = (f"claimed {e.claimed}, correct {e.correct}" if e.kind in ("error", "rounding", "convention")
                    else e.claimed if e.kind == "code" else e.explanation if e.kind == MISSING
                    else f"the page now reads {e.claimed}")
            print(f"lmverify: {'new ' if baseline is not None else ''}{e.kind}: {e.page}:{e.line} {e.what}: {said}",
                  file=sys.stderr)
        return EXIT_ERRATA
    if any(r.page_problems or r.mismatches for r in reports) and baseline is None:
        return EXIT_OUT_OF_DATE
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``lmverify report`` on its own (the arguments after ``report``), with the CLI's exit codes."""
    from lmverify.cli import main as cli_main

    return cli_main(["report", *(sys.argv[1:] if argv is None else argv)])


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
