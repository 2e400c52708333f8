"""Findings: what the verification of a course found, as typed objects (one per wrong number, missing claim,
changed equation or failing code block), and the gate kinds. Rendering is :mod:`lmverify.course.render`'s;
the baseline and the gate are :mod:`lmverify.course.gate`'s."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from lmverify.course.judging import MISSING, ExampleReport
from lmverify.worked import ClaimResult

#: the kinds of finding a gate can fail on (``--fail-on``); carried rounding is never one
KINDS = ("error", "rounding", "convention", "missing", "equation", "code", "timeout")


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
    """A catalogued equation looked up in its page's displays, compared by meaning: ``line`` where it is
    now (``how``: identical, normalised (the same up to form), symbolic (parsed and equivalent)), or None
    (changed), with the nearest resembling display and what differs (``detail``)."""

    id: str
    page: str
    recorded_line: int
    latex: str
    line: int | None
    candidate: tuple[int, str] | None = None
    how: str = ""
    detail: str = ""

    @property
    def changed(self) -> bool:
        return self.line is None


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
                                       cell.correct, cell.verdict, expl))
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
                           f"the page" + (f"; the nearest display (line {line}) reads: {text}" if text else "")
                           + (f"; {eq.detail}" if eq.detail else ""),
                           ident=hashlib.sha1(eq.latex.encode("utf-8")).hexdigest()[:12]))
    return out


def failing_code(reports: list[ExampleReport]) -> list[Erratum]:
    """Code blocks that fail, or print other than the page states (kind ``code``), at the failing line; a block
    stopped at its CPU-time limit is kind ``timeout`` (a limit, not a verdict on the code)."""
    out = []
    for b in getattr(reports, "code", None) or []:
        if not b.failing:
            continue
        why = b.reason if b.status in ("failed", "timeout") else b.output
        out.append(Erratum(b.page, b.error_line or b.line, "", "code", f"code block at line {b.line}",
                           why, "runs" if b.status in ("failed", "timeout") else "prints what the page states",
                           "timeout" if b.status == "timeout" else "code",
                           f"{b.page}:{b.error_line or b.line}: {why}", ident=f"code block {b.digest}"))
    return out


def findings(reports: list[ExampleReport]) -> list[Erratum]:
    """Everything a gate looks at: errata, changed equations, failing code blocks."""
    return errata(reports) + missing_claims(reports) + changed_equations(reports) + failing_code(reports)
