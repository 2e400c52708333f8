"""Rendering the verification: Markdown (the report), JUnit XML and GitHub Actions annotations, one
renderer each, all from the same findings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from lmverify import coverage
from lmverify.course.findings import _claimed_text, changed_equations, errata, failing_code, missing_claims
from lmverify.course.gate import classify, key
from lmverify.course.judging import MISSING, ExampleReport
from lmverify.exitcodes import write_output

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
               ", ".join(f"{sum(1 for b in blocks if b.status == s)} {s}" for s in ("ran", "skipped", "failed")
                         + (("timeout",) if any(b.status == "timeout" for b in blocks) else ())))
        out.append(f"Pages checked: {len(pages)}; displayed equations looked up: {len(eqs)} "
                   f"({sum(1 for e in eqs if e.changed)} changed); code blocks: "
                   f"{len(blocks) if blocks is not None else '-'} ({ran})")
    for e in getattr(reports, "example_errors", []):  # recipes that raised or returned inf (lmverify/course/judging.py)
        out.append(f"**Example not judged**: {e}  ")
    if getattr(reports, "catalogue", True):
        rows = coverage.coverage([rep.example for rep in reports] if reports.catalogue and reports.complete else None)
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
                       f"**{r.verdict}**{' - the erratum is fixed' if r.verdict == 'correct' != recorded.verdict else ''}")
        for c in rep.input_changes:
            out.append(f"- input changed: {c.name} from {c.recorded} to {c.page} (line {c.line}); every claim that "
                       f"depends on it is recomputed")
        for why in rep.input_problems:
            out.append(f"- {why}")
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
            n = {s: sum(1 for b in blocks if b.status == s) for s in ("ran", "skipped", "failed", "timeout")}
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


def junit(reports: list[ExampleReport], path: Path, course: Path | None = None, *, baseline: set | None = None) -> None:
    """JUnit XML: one test case per judged number, so the failures are exactly the errata of the report
    (a matrix claim counts each wrong cell), plus one failure per claim no longer found in the page; one
    case per displayed equation looked up (failing when changed) and per code block (skipped with its
    reason, failing when it fails).

    With ``baseline`` (from :func:`lmverify.course.gate.read_baseline`) a finding the course has accepted
    is not a failure: its case is ``<skipped message="accepted in baseline: ...">``, so the failures are
    exactly the new findings, as the gate sees them.

    ``classname`` is ``<page stem>.<example name>`` (a viewer groups by page, then example; ``.equations``
    and ``.code`` for the others), ``file`` the page (under the course folder when given) and ``line`` the
    line of the number in the page. A path that cannot be written is an :class:`~lmverify.exitcodes.OutputError`.
    """
    course = course if course is not None else getattr(reports, "course", None)
    suite = ET.Element("testsuite", name="lmverify-report")
    n = failures = skipped = 0
    wrong = {(e.example, e.what): e for e in errata(reports)}
    lost = {(e.example, e.ident): e for e in missing_claims(reports)}

    def file_of(page: str) -> str:
        return str(course / page) if course is not None else page

    def fail(case, e, message: str, text: str) -> None:
        nonlocal failures, skipped
        if baseline is not None and key(e) in baseline:
            skipped += 1
            ET.SubElement(case, "skipped", message=f"accepted in baseline: {message}")
        else:
            failures += 1
            ET.SubElement(case, "failure", message=message, type=e.kind).text = text

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
                    msg = f"{e.page}:{e.line}: {e.kind}: claimed {e.claimed}, correct {e.correct}"
                    fail(case, e, msg, e.explanation or msg)
            if i in rep.page_problems:
                n += 1
                case = ET.SubElement(suite, "testcase", classname=classname, name=f"{r.claim.label} (located)",
                                     file=file, line=str(r.claim.line))
                msg = f"{ex.page}: missing: {rep.page_problems[i]}"
                e = lost.get((ex.id, f"missing {r.claim.label}"))
                if e is None:  # a missing claim is always a finding; never let one pass unreported
                    failures += 1
                    ET.SubElement(case, "failure", message=msg, type=MISSING).text = msg
                else:
                    fail(case, e, msg, msg)
    changed = {e.what: e for e in changed_equations(reports)}
    for eq in getattr(reports, "equations", None) or []:
        n += 1
        e = changed.get(eq.id)
        case = ET.SubElement(suite, "testcase", classname=f"{Path(eq.page).stem}.equations", name=eq.id,
                             file=file_of(eq.page), line=str(e.line if e else eq.line))
        if e is not None:
            fail(case, e, f"{e.page}:{e.line}: equation changed: {eq.id}", e.explanation)
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
            fail(case, e, f"{e.page}:{e.line}: {e.claimed}",
                 e.explanation + ("\n" + b.stdout[-2000:] if b.stdout else ""))
    suite.set("tests", str(n))
    suite.set("failures", str(failures))
    suite.set("skipped", str(skipped))
    body = ET.tostring(suite, encoding="unicode")
    write_output(path, "<?xml version='1.0' encoding='utf-8'?>\n" + body + "\n", "--junit")


#: GitHub shows at most this many annotations of each level (error, warning, notice) per step
GITHUB_SHOWN = 10


def github_escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's runner unescapes it (``%``, CR, LF)."""
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_escape_property(text: str) -> str:
    """A workflow command's property value (``title``, ``file``): the data escapes and also ``:`` and ``,``,
    which would end the value (an unescaped comma cut ``title=error: K_T[2, 3]`` short)."""
    return github_escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(level: str, file: str, line: int, title: str, message: str) -> str:
    where = f"file={github_escape_property(file)}" + (f",line={line}" if line and line > 0 else "")
    return f"::{level} {where},title={github_escape_property(title)}::{github_escape_data(message)}"


def _finding_text(e) -> tuple[str, str]:
    """(title, message) of a finding's annotation."""
    if e.kind in ("error", "rounding", "convention"):
        return f"{e.kind}: {e.what}", f"claimed {e.claimed}, correct {e.correct}. {e.explanation}".strip()
    if e.kind == MISSING:
        return f"missing: {e.what}", e.explanation
    if e.kind == "equation":
        return f"equation changed: {e.what}", e.explanation
    if e.kind == "timeout":
        return f"code block timed out: {e.what}", e.claimed
    return f"code block failed: {e.what}", e.claimed


def github_annotations(reports: list[ExampleReport], course: Path | None = None, *, fail_on: set[str] | None = None,
                       baseline: set | None = None, shown: int = GITHUB_SHOWN) -> str:
    """GitHub Actions workflow commands (for stderr: the log, where the runner reads them), one per finding
    on its page line, in GitHub's format with its escapes.

    New findings first: ``::error`` for the kinds the gate fails on (``fail_on``; without it every new
    finding but a rounding slip, which is a ``::warning``), ``::warning`` for the others; then the findings the
    ``baseline`` accepts, as ``::notice``; then skipped code blocks, as notices. Only findings are annotated
    (errata, missing claims, changed equations, failing or timed-out code), so an error annotation always
    means a finding the gate judges. GitHub shows ``shown`` annotations of each level per step: where more
    exist, the last one shown of that level says how many are not shown and where they are listed."""
    course = course if course is not None else getattr(reports, "course", None)
    failing, other, accepted = classify(reports, {"any"} if not fail_on else set(fail_on), baseline)
    if not fail_on:  # no gate given: every new finding is an error but a rounding slip, a warning
        other = [e for e in failing if e.kind == "rounding"]
        failing = [e for e in failing if e.kind != "rounding"]

    def file_of(page: str) -> str:
        return str(course / page) if course is not None else page

    levels: dict[str, list[str]] = {"error": [], "warning": [], "notice": []}
    for level, group, prefix in (("error", failing, ""), ("warning", other, ""),
                                 ("notice", accepted, "accepted in baseline: ")):
        for e in group:
            title, message = _finding_text(e)
            levels[level].append(_annotation(level, file_of(e.page), e.line, prefix + title, message))
    for b in getattr(reports, "code", None) or []:
        if b.status == "skipped":
            levels["notice"].append(_annotation("notice", file_of(b.page), b.line, "code block skipped", b.reason))
    out = []
    for level, lines in levels.items():
        if len(lines) > shown:
            hidden = len(lines) - (shown - 1)
            what = {"error": "new findings that fail the gate", "warning": "new findings of other kinds",
                    "notice": "notices (accepted findings, skipped code blocks)"}[level]
            lines = lines[: shown - 1] + [f"::{level} title={github_escape_property(f'{hidden} more {level}s')}::"
                                          + github_escape_data(f"{hidden} more {what} are not shown here (GitHub shows "
                                                               f"{shown} per step): see the report and the JUnit XML")]
        out += lines
    return "\n".join(out) + ("\n" if out else "")
