"""Verifying a course: every worked example judged against its page, the pages' equations looked up, the
printed numbers accounted for, the pages' examples matched with what covers them, and (optionally) the
pages' code run. :func:`build` returns :class:`Reports`, which the renderers and the gate take."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lmverify import coverage
from lmverify.course.course import as_course
from lmverify.course.findings import EquationCheck
from lmverify.course.judging import RecipeError, judge_example
from lmverify.pages import BlockResult, CourseError, course_pages, run_course_code
from lmverify.worked import Example, WorkedExampleError, load_all_examples

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
        self.accounts: list = attrs.get("accounts") or []
        self.example_errors: list[str] = attrs.get("example_errors") or []  # recipes that raised or returned inf
        self.complete: bool = attrs.get("complete", False)  # the examples are all the project's (coverage reuses them)  # per page: how each printed number is accounted for


def load_equations(path: Path) -> list[dict[str, Any]]:
    """Equations to check in the pages from a YAML file other than the catalogue (a course repository's
    own, the tests' mini-course): a list, or ``{equations: [...]}``, of ``{id, page, line, latex}``."""
    import yaml

    from lmverify import safeyaml

    path = Path(path)
    try:
        data = safeyaml.load(path.read_text(encoding="utf-8"), path)
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


def check_equations(course, equations: list[dict[str, Any]]) -> list[EquationCheck]:
    """Every displayed equation looked up among its page's displays (from the page model) and compared by
    meaning (:mod:`lmverify.course.equations`): a reformatted equation is found; a changed one names the
    nearest resembling display and what differs (a factor, a swapped argument)."""
    from lmverify.course.equations import locate_equation

    course = as_course(course)
    out = []
    for eq in equations:
        if not eq.get("displayed", True):
            continue
        displays = course.page(eq["page"]).displays
        line, match, cand = locate_equation(eq["latex"], displays, eq["line"])
        how = match.how if match is not None else ""
        detail = "" if line is not None or match is None else match.detail
        out.append(EquationCheck(eq["id"], eq["page"], eq["line"], eq["latex"], line,
                                 cand if line is None else None, how, detail))
    return out


def build(course: Path | None = None, examples: list[Example] | None = None, *, examples_dir: Path | None = None,
          code: bool = False, code_timeout: float | None = None, equations: list[dict] | None = None,
          topic: str | None = None) -> Reports:
    """Every example's claims judged; with ``course``, located in the pages (a missing or undecodable
    page raises :class:`lmverify.pages.CourseError` naming it, once, before anything is judged), the
    pages' displayed equations looked up, the pages' worked examples matched with the files that cover
    them and, with ``code=True``, every python block of the pages run (``code_timeout`` CPU seconds each where the page sets none).

    ``examples``: the examples to judge (default: all under ``examples_dir``, default ``worked_examples/``,
    of ``topic`` if given). ``equations``: the equations to look up (default: the project's catalogue, of
    ``topic`` if given; see :func:`load_equations` for another file)."""
    complete = examples is None and examples_dir is None and topic is None  # all the project's examples
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
    reports.complete = complete
    for ex in examples:
        try:
            reports.append(judge_example(ex, pages))
        except RecipeError as exc:  # the example cannot be computed: named, and the others are still judged
            reports.example_errors.append(str(exc))
    if pages is not None:
        from lmverify.course.accounting import account, load_unjudged
        from lmverify.worked import EXAMPLES_DIR

        unjudged = load_unjudged(Path(examples_dir) if examples_dir else EXAMPLES_DIR)
        if examples_dir and Path(examples_dir).resolve() != EXAMPLES_DIR.resolve() and \
                any(ex.path.resolve().is_relative_to(EXAMPLES_DIR.resolve()) for ex in examples):
            for p, records in load_unjudged(EXAMPLES_DIR).items():  # built-in examples judged too: their records
                unjudged[p] = records + unjudged.get(p, [])
        scope_pages = _scope(pages.folder, examples, topic, equations)
        reports.accounts = [account(pages.page(p), [r for r in reports if r.example.page == p], unjudged.get(p, []))
                            for p in scope_pages if p in {ex.page for ex in examples} | set(unjudged)]
    if course is not None:
        course = pages.folder
        eq_pages = set(pages.pages)
        scope = _scope(course, examples, topic, equations)
        reports.equations = check_equations(pages, [eq for eq in equations if eq["page"] in eq_pages])
        reports.page_examples = coverage.page_examples(pages, pages=scope, reports=list(reports))
        if code:
            reports.code = run_course_code(course, scope, timeout=code_timeout)
    return reports
