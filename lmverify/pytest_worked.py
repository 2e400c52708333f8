"""pytest items for worked-example YAML files (``pytest worked_examples/<topic>/<file>.yaml``).

Each file yields one item per backend (the recipe recomputed there, its values
checked against the NumPy reference, its verdicts against the recorded ones) and
one ``page`` item that, with ``--course``, finds every claim in the page.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lmverify.backends import BACKEND_NAMES, Backend
from lmverify.compare import assert_close
from lmverify.pages import CourseError
from lmverify.worked import (
    NotForBackend,
    WorkedExampleError,
    compute,
    judge,
    load_example,
    recorded_correct_matches,
)

#: backends whose verdicts must equal the recorded ones (float32 only has to agree in value)
VERDICT_BACKENDS = ("numpy", "torch64", "sympy")


class WorkedExampleFile(pytest.File):
    def collect(self):
        try:
            example = load_example(self.path)
        except WorkedExampleError as exc:
            yield MalformedExampleItem.from_parent(self, name="schema", message=str(exc))
            return
        for b in BACKEND_NAMES:
            yield ClaimsItem.from_parent(self, name=f"claims[{b}]", example=example, backend_name=b)
        yield PageItem.from_parent(self, name="page", example=example)


class MalformedExampleItem(pytest.Item):
    def __init__(self, *, message: str, **kw):
        super().__init__(**kw)
        self.message = message
        self.add_marker(pytest.mark.worked_example)

    def runtest(self):
        raise WorkedExampleError(self.message)

    def repr_failure(self, excinfo):
        return f"malformed worked example: {self.message}"

    def reportinfo(self):
        return self.path, None, f"{self.path.name}::schema"


class _ExampleItem(pytest.Item):
    def __init__(self, *, example, **kw):
        super().__init__(**kw)
        self.example = example
        self.add_marker(pytest.mark.worked_example)
        self.add_marker(getattr(pytest.mark, example.topic))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, (AssertionError, WorkedExampleError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.example.id}::{self.name}"


class ClaimsItem(_ExampleItem):
    def __init__(self, *, backend_name: str, **kw):
        super().__init__(**kw)
        self.backend_name = backend_name

    def runtest(self):
        ex = self.example
        b = Backend(self.backend_name)
        try:
            got = compute(ex, b)
        except NotForBackend as exc:
            pytest.skip(f"recipe {ex.recipe} does not run on {b.name}: {exc}")
        if b.name != "numpy":
            ref = compute(ex, "numpy")
            for name, value in ref.items():
                if isinstance(value, (str, bool)):
                    continue
                if name not in got:
                    raise AssertionError(f"{ex.path}: recipe {ex.recipe} on {b.name} did not compute {name!r}")
                assert_close(got[name], value, b.tolerance(), equation=ex.equations[0] if ex.equations else None,
                             backend=b.label, inputs=None, what=f"{ex.id}: quantity {name!r}",
                             expected_from="numpy float64 reference")
        if b.name not in VERDICT_BACKENDS:
            return
        problems = []
        for claim in ex.claims:
            r = judge(claim, got)
            if r.verdict != claim.verdict:
                hint = (" - the page may have been fixed: update the record" if r.verdict == "correct"
                        else " - an implementation or the page changed")
                problems.append(
                    f"{claim.where} ({claim.label}, {ex.page} line {claim.line}): recorded verdict "
                    f"{claim.verdict!r}, computed {r.verdict!r}; claimed {claim.claimed!r}, computed "
                    f"{r.correct_text}{hint}"
                )
            elif not recorded_correct_matches(r):
                problems.append(
                    f"{claim.where} ({claim.label}): recorded correct value {claim.correct!r} disagrees with "
                    f"the recomputed {r.correct_text}"
                )
        if problems:
            raise AssertionError(f"{ex.path} on {b.label}:\n  " + "\n  ".join(problems))


class PageItem(_ExampleItem):
    """With ``--course``: the example judged against its page as the report judges it (inputs and numbers
    read from the page). Fails when a claim is missing from the page, or when the number the page prints
    now gets another verdict than the recorded one (a fixed erratum, a new one, a changed input)."""

    def runtest(self):
        course = self.config.getoption("--course")
        if course is None:
            pytest.skip("needs the course pages: pass --course PATH")
        from lmverify.course.judging import MISSING, judge_example

        try:
            rep = judge_example(self.example, _course(self.config, Path(course)))
        except CourseError as exc:
            raise AssertionError(f"{self.example.path}: key 'page': {exc}") from None
        problems = []
        for c in rep.input_changes:
            problems.append(f"input {c.name}: the page prints {c.page} (line {c.line}), the record {c.recorded}")
        for why in rep.input_problems:
            problems.append(why)
        for i, r in enumerate(rep.results):
            claim = r.claim
            if r.verdict == MISSING:
                problems.append(f"{claim.where} ({claim.label}): missing from the page: {r.detail}")
            elif r.verdict != claim.verdict:
                now = rep.page_numbers.get(i)
                said = f"the page now prints {now}" if now is not None else f"the page prints {claim.claimed}"
                fixed = " - the erratum is fixed: update the record" if r.verdict == "correct" else ""
                problems.append(f"{claim.where} ({claim.label}, {self.example.page} line {rep.page_lines.get(i)}): "
                                f"{said}, judged {r.verdict!r} (correct: {r.correct_text}); recorded "
                                f"{claim.verdict!r}{fixed}")
        if problems:
            raise AssertionError(f"{self.example.path}: the page no longer says what was recorded:\n  "
                                 + "\n  ".join(problems))


def _course(config, folder: Path):
    """One Course per test session (each page read and parsed once, whichever example asks first)."""
    from lmverify.course.course import Course

    cache = config.__dict__.setdefault("_lmverify_courses", {})
    key = str(folder.resolve())
    if key not in cache:
        cache[key] = Course(folder)
    return cache[key]


class UnjudgedFile(pytest.File):
    """``<topic>/unjudged.yaml``: the page's printed numbers declared unjudged, each with a reason."""

    def collect(self):
        yield UnjudgedItem.from_parent(self, name="unjudged")


class UnjudgedItem(pytest.Item):
    """The records are well formed; with ``--course``, each still finds its number in the page (a record
    must not outlive the text it describes)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.add_marker(pytest.mark.worked_example)

    def runtest(self):
        from lmverify.course.accounting import account, load_unjudged

        records = load_unjudged(self.path.parent.parent, only=self.path)
        course = self.config.getoption("--course")
        if course is None:
            return
        stale = []
        for page, recs in records.items():
            stale += account(_course(self.config, Path(course)).page(page), [], recs).stale
        if stale:
            raise AssertionError(f"{self.path}: records that no longer find their number:\n  " + "\n  ".join(stale))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, (AssertionError, WorkedExampleError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.path.parent.name}/unjudged.yaml"
