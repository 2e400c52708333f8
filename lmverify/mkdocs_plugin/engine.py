"""The verification behind the MkDocs plugin: the report's own engine, kept per page for ``mkdocs serve``.

The first verification of a site is :func:`lmverify.course.verify.build`, called as ``lmverify report``
calls it. Its :class:`~lmverify.course.verify.Reports` is then split by page and cached with each page's
content hash. When pages change (``mkdocs serve`` rebuilds after an edit), only the changed pages are
verified again, with the same parts ``build`` runs for a page (:func:`~lmverify.course.judging.judge_example`
on the page's examples, :func:`~lmverify.course.verify.check_equations`,
:func:`~lmverify.course.accounting.account`, :func:`lmverify.coverage.page_examples` and, with ``code``,
:func:`lmverify.pages.run_course_code`), and the pages are put together again into one ``Reports`` that the
findings, the gate and the Markdown renderer take as they take the report's.

Nothing here imports MkDocs.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmverify.course.course import Course
from lmverify.course.model import Page, parse_page
from lmverify.course.verify import Reports, build, check_equations
from lmverify.pages import course_pages


def digest(text: str) -> str:
    """A page's content hash (line endings as MkDocs reads them)."""
    return hashlib.sha256(text.replace("\r\n", "\n").encode("utf-8")).hexdigest()


class CachedCourse(Course):
    """A :class:`Course` read afresh (each page's text from disk) whose page models come from a cache keyed by
    page and content hash, so an unchanged page is not parsed again."""

    def __init__(self, folder: str | Path, models: dict[tuple[str, str], Page]):
        super().__init__(folder)
        self._models = models

    def page(self, name: str) -> Page:
        text = self.text(name)
        key = (name, digest(text))
        model = self._models.get(key)
        if model is None:
            for old in [k for k in self._models if k[0] == name]:
                del self._models[old]
            model = self._models[key] = parse_page(text, name)
        return model


@dataclass
class PageResult:
    """What the verification found in one page: its examples' reports, its account of printed numbers, its
    equations, its printed worked examples and what covers them, its code blocks (None when not run)."""

    digest: str
    reports: list = field(default_factory=list)
    account: Any = None
    equations: list = field(default_factory=list)
    page_examples: list = field(default_factory=list)
    code: list | None = None
    example_errors: list[str] = field(default_factory=list)  # examples whose recipe raised: not judged


@dataclass
class Run:
    """One verification: the assembled reports, the pages verified this time, and how long it took."""

    reports: Reports
    verified: list[str]
    seconds: float
    full: bool


class Verifier:
    """The pages of one course folder, verified once and then again only where their text changed.

    ``pages``: the page names to verify (None: all the course's pages). ``examples_dir`` as for ``lmverify
    report --examples-dir`` (None: the project's worked examples). ``code``/``code_timeout`` as ``--no-code``
    (inverted) and ``--code-timeout``. ``builtin``: the project's worked examples, already loaded."""

    def __init__(self, folder: str | Path, pages: list[str] | None = None, *, examples_dir: str | Path | None = None,
                 code: bool = False, code_timeout: float | None = None, builtin: list | None = None):
        from lmverify.catalogue import load
        from lmverify.course.accounting import load_unjudged
        from lmverify.worked import EXAMPLES_DIR, load_all_examples

        self.folder = Path(folder)
        self.selected = None if pages is None else list(pages)
        self.examples_dir = Path(examples_dir) if examples_dir is not None else None
        self.code = code
        self.code_timeout = code_timeout
        self.left_out: list = []
        if self.examples_dir is None:  # ``builtin``: the built-in examples, when the caller has loaded them
            self.examples = list(builtin) if builtin is not None else load_all_examples()
        else:  # the course's own examples added to the built-in ones of its pages, as `lmverify report` takes them
            from lmverify.worked import with_builtin_examples

            self.examples, self.left_out = with_builtin_examples(self.examples_dir, set(course_pages(self.folder)))
        self.unjudged = load_unjudged(self.examples_dir or EXAMPLES_DIR)
        self.equations = load()
        self._example_order = {ex.id: k for k, ex in enumerate(self.examples)}
        self.models: dict[tuple[str, str], Page] = {}
        self.cache: dict[str, PageResult] = {}

    # -- which pages -----------------------------------------------------------------------------------
    def scope(self) -> list[str]:
        """The pages verified: the course folder's pages (or the selected ones), in the report's order."""
        pages = course_pages(self.folder)
        return pages if self.selected is None else [p for p in pages if p in set(self.selected)]

    def _examples_of(self, pages: set[str]) -> list:
        return [ex for ex in self.examples if ex.page in pages]

    # -- verifying --------------------------------------------------------------------------------------
    def run(self) -> Run:
        """Verify what changed since the last run (everything, the first time) and return all the pages'
        results as one :class:`Reports`."""
        start = time.perf_counter()
        course = CachedCourse(self.folder, self.models)
        scope = self.scope()
        digests = {p: digest(course.text(p)) for p in scope}
        for gone in set(self.cache) - set(scope):
            del self.cache[gone]
        changed = [p for p in scope if p not in self.cache or self.cache[p].digest != digests[p]]
        full = not self.cache
        if full:
            self._full(course, scope, digests)
        else:
            for p in changed:
                self.cache[p] = self._verify_page(course, p, digests[p])
        reports = self.assemble(course, scope)
        return Run(reports, scope if full else changed, time.perf_counter() - start, full)

    def _full(self, course: CachedCourse, scope: list[str], digests: dict[str, str]) -> None:
        """The first run: :func:`build`, exactly as ``lmverify report`` calls it when every page is verified;
        with a selection of pages, ``build`` on their examples and equations, and their code blocks run."""
        from lmverify.pages import run_course_code

        if self.selected is None:
            reports = build(self.folder, None if self.examples_dir is None else self.examples,
                            examples_dir=self.examples_dir, code=self.code, code_timeout=self.code_timeout)
        else:
            wanted = set(scope)
            reports = build(self.folder, examples=self._examples_of(wanted), examples_dir=self.examples_dir,
                            equations=[eq for eq in self.equations if eq["page"] in wanted], code=False)
            if self.code:
                reports.code = run_course_code(self.folder, scope, timeout=self.code_timeout)
        # build parsed the pages with its own Course: keep its models for the next runs
        for p in scope:
            self.models[(p, digests[p])] = reports.pages.page(p)
        self.full_reports = reports
        errors = self._example_errors([ex for ex in self.examples if ex.page in set(scope)], reports)
        for p in scope:
            self.cache[p] = PageResult(
                digests[p],
                reports=[r for r in reports if r.example.page == p],
                account=next((a for a in reports.accounts if a.page == p), None),
                equations=[e for e in reports.equations if e.page == p],
                page_examples=[r for r in (reports.page_examples or []) if r["page"] == p],
                code=None if reports.code is None else [b for b in reports.code if b.page == p],
                example_errors=[why for ex, why in errors if ex.page == p])

    def _example_errors(self, examples: list, reports: Reports) -> list[tuple]:
        """(example, why) for each example ``build`` could not judge (its recipe raised: ``example_errors``),
        judged again alone to know its page."""
        from lmverify.course.judging import RecipeError, judge_example

        if not getattr(reports, "example_errors", None):
            return []
        judged = {r.example.id for r in reports}
        out = []
        for ex in examples:
            if ex.id not in judged:
                try:
                    judge_example(ex, reports.pages)
                except RecipeError as exc:
                    out.append((ex, str(exc)))
        return out

    def _verify_page(self, course: CachedCourse, page: str, page_digest: str) -> PageResult:
        """One page verified with the parts :func:`build` runs for it."""
        from lmverify import coverage
        from lmverify.course.accounting import account
        from lmverify.course.judging import judge_example
        from lmverify.pages import run_course_code

        from lmverify.course.judging import RecipeError

        reports, errors = [], []
        for ex in self._examples_of({page}):
            try:
                reports.append(judge_example(ex, course))
            except RecipeError as exc:  # as build does: named, and the page's other examples still judged
                errors.append(str(exc))
        acc = None
        if reports or page in self.unjudged:
            acc = account(course.page(page), reports, self.unjudged.get(page, []))
        eqs = check_equations(course, [eq for eq in self.equations if eq["page"] == page])
        rows = coverage.page_examples(course, pages=[page], reports=reports)
        code = run_course_code(self.folder, [page], timeout=self.code_timeout) if self.code else None
        return PageResult(page_digest, reports, acc, eqs, rows, code, errors)

    def assemble(self, course: Course, scope: list[str]) -> Reports:
        """The cached pages as one :class:`Reports`, in the order ``build`` gives (examples and equations in
        their files' order, accounts, printed examples and code blocks in page order)."""
        results = [self.cache[p] for p in scope]
        reps = sorted((r for res in results for r in res.reports), key=lambda r: self._example_order[r.example.id])
        eq_index = {(eq["id"], eq["page"]): k for k, eq in enumerate(self.equations)}
        eqs = sorted((e for res in results for e in res.equations), key=lambda e: eq_index.get((e.id, e.page), 0))
        out = Reports(reps, course=self.folder, code=None if not self.code else [b for res in results for b in res.code or []],
                      equations=eqs, page_examples=[row for res in results for row in res.page_examples],
                      topic=None, catalogue=True, accounts=[res.account for res in results if res.account is not None],
                      complete=self.selected is None and self.examples_dir is None,
                      example_errors=[why for res in results for why in res.example_errors])
        out.pages = course
        return out
