"""The generic student-facing checks of one equation, run in-process on a student's module (no pytest).

``pytest --impl my.py`` runs ``tests/test_equations.py``'s ``test_pinned_inputs_match_exact`` and
``test_matches_oracle`` on the student's functions; this module runs the same comparisons
(:class:`lmverify.check.Check` with the ``impl`` backend, the same messages and hints) without a
pytest subprocess, so a test can run a hundred student modules in a few seconds, and the grader
can use it for a quick first pass::

    from lmverify.students_check import check_equation
    for o in check_equation("tests/data/students/mistakes/attention/sdpa__unscaled_scores.py",
                            "attention.scaled_dot_product", drawn=10):
        print(o.status, o.check, o.hint)

Differences from the real run (said so the results are read right):

- pinned inputs are compared against the NumPy float64 reference (the real run compares them with
  SymPy's exact value where the entry allows it; the NumPy reference is itself checked against SymPy
  on those inputs by the generic tests, within float64 tolerance, far below the student's float32 one);
- drawn inputs use ``settings(derandomize=True, database=None)`` with ``drawn`` examples (the real run
  uses the active hypothesis profile); hypothesis shrinks a failing input as in the real run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from lmverify.backends import Backend, ImplFailure, NotCovered, SkipImpl, StudentModule
from lmverify.compare import VerificationError

#: the hint line that :func:`lmverify.check.mistake_hint` appends to a failure message
HINT = re.compile(r"^Hint: your result equals what (?P<what>.*) gives \((?P<name>.*)\)\.$", re.M)


@dataclass(frozen=True)
class Outcome:
    """One check of one equation on a student's module."""

    equation: str
    check: str  # "pinned: <label>" or "drawn"
    status: str  # "passed", "failed" or "skipped"
    message: str = ""
    #: the failure's hint lines as the check made them (``Hint: ...``, ``Convention: ...``), not read back
    hints: tuple[str, ...] = ()
    #: inputs the student's code declined (NotCovered): every one (a skip) or some (a pass on the others)
    declined: bool = False

    @property
    def hint(self) -> str:
        """The first line of the failure's ``Hint: ...`` ('' if none)."""
        return next((h.splitlines()[0] for h in self.hints if h.startswith("Hint: ")), "")

    @property
    def mistake(self) -> str:
        """The name of the mistake the hint names ('' if none): the last parenthesis of the hint's line."""
        m = HINT.match(self.hint)
        return m.group("name") if m else ""


def student_backend(student: str | Path | StudentModule) -> Backend:
    """The ``impl`` backend on a student's module, as ``pytest --impl PATH`` builds it."""
    if not isinstance(student, StudentModule):
        student = StudentModule(str(student), isolated=False)  # the suite's own modules: in-process, for speed
    return Backend("impl", student=student)


def _run(equation: str, label: str, fn: Any) -> Outcome:
    try:
        fn()
    except SkipImpl as exc:
        return Outcome(equation, label, "skipped", str(exc), declined=isinstance(exc, NotCovered))
    except VerificationError as exc:
        return Outcome(equation, label, "failed", str(exc), exc.hints)
    except (ImplFailure, AssertionError) as exc:
        return Outcome(equation, label, "failed", str(exc))
    return Outcome(equation, label, "passed")


def check_equation(student: str | Path | StudentModule | Backend, equation: str, *, drawn: int = 0,
                   pinned: bool = True, shrink: bool = True) -> list[Outcome]:
    """Run the equation's pinned inputs (one outcome each) and up to ``drawn`` drawn examples (one outcome)
    on the student's function, as the generic tests would; return the outcomes in that order.

    ``shrink=False`` reports the first failing drawn input as drawn (hypothesis' shrinking is most of
    the cost of a failing drawn check: about 0.1-1 s per equation, against milliseconds)."""
    from lmverify import registry
    from lmverify.check import Check

    entry = registry.get(equation)
    if entry is None:
        raise ValueError(f"check_equation: {equation!r} has no registry entry")
    backend = student if isinstance(student, Backend) else student_backend(student)
    numpy = Backend("numpy")
    out: list[Outcome] = []
    if pinned:
        for pin in entry.pinned:
            if backend.name in entry.skip:
                break
            check = Check(entry.id, backend, numpy)
            out.append(_run(entry.id, f"pinned: {pin.label}", lambda: check.agree(**pin.kwargs)))
            if out[-1].status == "skipped" and not out[-1].declined:
                # the function is missing: every other input skips too (a declined input is that input only)
                return out
    if drawn and entry.inputs is not None and backend.name not in entry.skip:
        declined: list = []
        outcome = _run(entry.id, "drawn", lambda: declined.append(_drawn(entry, backend, drawn, shrink)))
        if outcome.status == "passed" and declined and declined[0][0]:
            outcome = Outcome(entry.id, "drawn", "passed", f"{declined[0][0]} of {declined[0][1]} drawn inputs "
                              "not covered (declined by the student's code)", declined=True)
        out.append(outcome)
    return out


def _drawn(entry: Any, backend: Backend, n: int, shrink: bool = True) -> tuple[int, int]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    from lmverify.check import Check

    @settings(max_examples=n, derandomize=True, database=None, deadline=None, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate, Phase.shrink) if shrink else (Phase.generate,),
              report_multiple_bugs=False)
    @given(data=st.data())
    def run(data: Any) -> None:
        check = Check(entry.id, backend)
        inputs = data.draw(entry.inputs(exact=False), label="inputs")
        counts[0] += 1  # an input drawn (a draw that hypothesis rejects is not one)
        try:
            check.agree(**inputs)
        except NotCovered as exc:  # the student declined this input: counted, the next one is drawn
            counts[1] += 1
            reasons.add(str(exc).removeprefix("not covered: "))

    counts, reasons = [0, 0], set()
    run()
    if counts[1] and counts[1] >= counts[0]:
        raise NotCovered(f"not covered: every drawn input ({counts[0]}) declined: {'; '.join(sorted(reasons))}")
    return counts[1], counts[0]


def check_module(student: str | Path | StudentModule, equations: Iterable[str] | None = None, *,
                 drawn: int = 0) -> list[Outcome]:
    """Every registry entry (or those named) on one student module; entries whose function the module
    does not define are one 'skipped' outcome each."""
    from lmverify import registry

    backend = student_backend(student) if not isinstance(student, Backend) else student
    ids = list(equations) if equations is not None else [e.id for e in registry.load()]
    out: list[Outcome] = []
    for eid in ids:
        out.extend(check_equation(backend, eid, drawn=drawn))
    return out
