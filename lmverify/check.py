"""The ``check`` fixture: comparisons bound to one equation, one backend and its tolerance.

A test says what it checks and nothing else::

    @pytest.mark.equation("attention.softmax_temperature")
    @given(z=S.logits(), c=S.small_floats)
    def test_softmax_shift_invariant(check, z, c):
        a = check.call(z=z)                      # the equation's function on the backend under test
        b = check.call(z=z + c)
        check.close(b, a, what="softmax(z + c)", expected_from="softmax(z)")

``check.call`` remembers its keyword inputs, so a failure prints them by name; ``check.agree``
calls the backend and its oracle (SymPy exact for NumPy, NumPy for the rest); ``check.law``
asserts a law with a readable failure. Everything takes keyword arguments named as the
function's parameters. ``check.tol`` is the backend's tolerance for this equation
(:mod:`lmverify.tolerance`).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from lmverify.backends import Backend
from lmverify.compare import Failure, Requirement, VerificationError, assert_close, assert_true, close_elementwise
from lmverify.tolerance import Bound, Tolerance, conditioned, format_numbers, received_bound, tolerance_for


class Check:
    def __init__(self, equation: str, backend: Backend, oracle: Backend | None = None) -> None:
        from lmverify import registry

        self.equation = equation
        self.backend = backend
        self.oracle = oracle if oracle is not None else Backend(backend.oracle)
        self.entry = registry.get(equation)
        if self.entry is not None:
            self.topic, self.name = self.entry.function_topic, self.entry.function_name
        else:
            from lmverify import catalogue

            cat = catalogue.find(equation)
            if cat is None:
                raise ValueError(f"check: equation {equation!r} is not in the catalogue")
            self.topic, self.name = catalogue.function_of(cat)
        self.inputs: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"Check({self.equation!r}, {self.backend.label!r})"

    # -- identity ---------------------------------------------------------------
    @property
    def label(self) -> str:
        return self.backend.label

    @property
    def exact(self) -> bool:
        """Whether inputs must be cheap for SymPy (the backend or its oracle is exact)."""
        return self.backend.exact or self.oracle.exact

    @property
    def tol(self) -> Tolerance:
        """The backend's tolerance for this equation on the current inputs (float32: from their conditioning)."""
        return self.tolerance()

    def tolerance(self, equation: str | None = None) -> Tolerance:
        """The tolerance of ``equation`` (default: this one) for the backend, on the current inputs."""
        from lmverify import registry

        equation = equation or self.equation
        dtype = "float64" if self.backend.dtype == "exact" else self.backend.dtype
        entry = self.entry if equation == self.equation else registry.get(equation)
        kappa = None
        if dtype == "float32" and entry is not None and entry.kappa is not None and self.inputs:
            try:  # the rounding-error bound of the inputs as the backend receives them (rounded to float32)
                kappa = float(received_bound(self.backend.dtype, entry.kappa, self.inputs, roundings=0).value)
            except (TypeError, ValueError, KeyError):  # inputs of another function: no bound from them
                kappa = None
        return conditioned(dtype, kappa, equation)

    # -- calling ----------------------------------------------------------------
    def _split(self, fn: str | None) -> tuple[str, str]:
        if fn is None:
            return self.topic, self.name
        if "." in fn:
            topic, name = fn.split(".", 1)
            return topic, name
        return self.topic, fn

    def call(self, fn: str | None = None, /, **kwargs: Any) -> Any:
        """Call the equation's function (or ``fn``: a name of this topic, or ``topic.name``) on the backend."""
        __tracebackhide__ = True
        self.inputs = dict(kwargs)
        topic, name = self._split(fn)
        got = self._student_call(topic, name, kwargs)
        if self.backend.name == "impl":
            self._check_structure(topic, name, kwargs, got)
        return got

    def _check_structure(self, topic: str, name: str, kwargs: dict, got: Any) -> None:
        """A student's result must have the reference's structure (a tuple of as many results, a dict with its
        keys) before a test unpacks it: fewer values are a named failure, not a ValueError in the test's code."""
        __tracebackhide__ = True
        try:
            expected = Backend("numpy").call(topic, name, **kwargs)
        except Exception:  # noqa: BLE001 - an input the reference refuses: nothing to say about the structure
            return
        problem = ""
        if isinstance(expected, tuple) and (not isinstance(got, tuple) or len(got) != len(expected)):
            problem = (f"{name} must return a tuple of {len(expected)} results (got {type(got).__name__}"
                       f"{f' of {len(got)}' if isinstance(got, tuple) else ''})")
        elif isinstance(expected, dict) and (not isinstance(got, dict) or set(got) != set(expected)):
            missing = sorted(set(expected) - set(got)) if isinstance(got, dict) else sorted(expected)
            problem = f"{name} must return a dict with the keys {', '.join(sorted(expected))}" + (
                f" (missing: {', '.join(missing)})" if isinstance(got, dict) and missing else
                f" (got {type(got).__name__})")
        if problem:
            raise VerificationError(self._failure(got, expected, problem=problem, expected_from="numpy reference"))

    def _student_call(self, topic: str, name: str, kwargs: dict) -> Any:
        """The backend's result; a student's function that raises is reported like a wrong result (the
        equation, the input, what was expected), not as a traceback through the harness."""
        __tracebackhide__ = True
        if self.backend.name != "impl":
            return self.backend.call(topic, name, **kwargs)
        from lmverify.backends import ImplFailure, SkipImpl, WrongReturn

        try:
            return self.backend.call(topic, name, **kwargs)
        except (SkipImpl, ImplFailure, VerificationError):
            raise
        except Exception as exc:  # noqa: BLE001 - the student's exception, shown with the input that caused it
            try:
                expected = Backend("numpy").call(topic, name, **kwargs)
            except Exception:  # noqa: BLE001 - the input is bad for the reference too: nothing to compare
                expected = None
            problem = str(exc) if isinstance(exc, WrongReturn) else f"your {name} raised {type(exc).__name__}: {exc}"
            where = getattr(exc, "student_traceback", "")  # file, line and source line in the student's own files
            if where:
                problem += "\n" + where
            hint = self._raising_mistake_hint(topic, name, kwargs, exc) if expected is not None else ""
            nothing = Requirement("nothing comparable (see the problem above)" if isinstance(exc, WrongReturn)
                                  else "nothing: your code raised the error above")
            raise VerificationError(self._failure(nothing, expected, problem=problem, expected_from="numpy reference",
                                                  hints=(hint,) if hint else ())) from None

    def _raising_mistake_hint(self, topic: str, name: str, kwargs: dict, exc: Exception) -> str:
        """A known mistake that raises the same kind of error on this input (where the reference does not):
        ``Q @ K`` without the transpose fails on shapes that are not square, as the student's code did."""
        if self.entry is None or not self.entry.mistakes or (topic, name) != (self.topic, self.name):
            return ""
        alike = []
        for m in self.entry.mistakes:
            try:
                with np.errstate(all="ignore"):
                    m.fn(**kwargs)
            except type(exc):
                alike.append(m)
            except Exception:  # noqa: BLE001 - another kind of error: not this mistake
                continue
        if not alike:
            return ""
        return ("Hint: " + "; ".join(f"{m.hint} ({m.name})" for m in alike)
                + f" raise{'s' if len(alike) == 1 else ''} the same {type(exc).__name__} on this input; "
                  "the reference does not.")

    def reference(self, fn: str | None = None, /, **kwargs: Any) -> Any:
        """The NumPy float64 reference's result (an oracle for laws that compose functions)."""
        topic, name = self._split(fn)
        return Backend("numpy").call(topic, name, **kwargs)

    def agree(self, fn: str | None = None, /, *, against: Backend | None = None, **kwargs: Any) -> Any:
        """The backend's result must equal its oracle's (or ``against``'s); returns the backend's result."""
        __tracebackhide__ = True
        oracle = against or self.oracle
        topic, name = self._split(fn)
        self.inputs = dict(kwargs)
        expected = oracle.call(topic, name, **kwargs)
        got = self._student_call(topic, name, kwargs)
        expected_from = f"{oracle.label}{' (exact)' if oracle.exact else ''}"
        if isinstance(expected, tuple):
            if not isinstance(got, tuple) or len(got) != len(expected):
                raise VerificationError(self._failure(
                    got, expected, problem=f"{name} must return a tuple of {len(expected)} results "
                    f"(got {type(got).__name__}{'' if not isinstance(got, tuple) else f' of {len(got)}'})",
                    expected_from=expected_from))
            for i, (g, e) in enumerate(zip(got, expected)):
                self.close(g, e, what=f"{name} result [{i}] (of the {len(expected)} it returns)",
                           expected_from=expected_from, _fn=(topic, name), _index=i)
        else:
            self.close(got, expected, what=f"{name} result", expected_from=expected_from, _fn=(topic, name))
        return got

    # -- asserting ----------------------------------------------------------------
    def close(self, got: Any, expected: Any, *, what: str = "result", expected_from: str = "reference",
              tol: Tolerance | None = None, _fn: tuple[str, str] | None = None, _index: int | None = None) -> None:
        """``got`` equals ``expected`` within the backend's tolerance (or ``tol``)."""
        __tracebackhide__ = True
        try:
            assert_close(got, expected, tol or self.tol, equation=self.equation, backend=self.label,
                         inputs=self.inputs, what=what, expected_from=expected_from)
        except VerificationError as exc:
            hints = [h for h in (self.convention_hint(got, _fn, _index, expected),
                                 self.mistake_hint(got, _fn, _index, expected)) if h]
            if hints:
                raise exc.with_hints(*hints) from None
            raise

    def exactly(self, got: Any, expected: Any, *, what: str = "result", expected_from: str = "reference") -> None:
        """``got`` equals ``expected`` exactly (masks, counts, independence of the future)."""
        __tracebackhide__ = True
        self.close(got, expected, what=what, expected_from=expected_from, tol=tolerance_for("exact"))

    def law(self, condition: Any, law: str, *, got: Any = None, expected: Any = None) -> None:
        """A law that must hold, e.g. ``check.law(np.all(w >= 0), "weights are non-negative", got=w)``.

        A law whose side is bounded by a quantity of the inputs is :meth:`within` instead (the bound from
        the inputs as the backend receives them, with its margin, both printed on failure)."""
        __tracebackhide__ = True
        assert_true(np.asarray(condition), equation=self.equation, backend=self.label, law=law,
                    inputs=self.inputs, got=got, expected=expected)

    def bound(self, fn: Callable[..., Any], /, *, roundings: int = 1, scale: Callable[..., Any] | None = None,
              tol: Tolerance | None = None, what: str = "", **inputs: Any) -> Bound:
        """``fn(**inputs)`` on the inputs as this backend receives them, with its rounding margin
        (:func:`lmverify.tolerance.received_bound`, whose docstring says how ``roundings``, ``scale`` and
        ``tol`` make the margin)."""
        return received_bound(self.backend.dtype, fn, inputs, roundings=roundings, scale=scale, tol=tol, what=what)

    def within(self, value: Any, law: str, *, lower: Bound | Any = None, upper: Bound | Any = None,
               got: Any = None) -> None:
        """``lower.lower <= value <= upper.upper`` elementwise: a law bounded by quantities of its inputs.

        ``lower``/``upper`` are :class:`~lmverify.tolerance.Bound` (from :meth:`bound`) or plain numbers
        (constants of the law, e.g. 0 and ln 2, with no margin). A failure's "Expected" gives each bound, its
        margin and the limit in numbers, and the element that is furthest beyond a limit.
        """
        __tracebackhide__ = True
        if lower is None and upper is None:
            raise ValueError(f"check.within({law!r}): give a lower bound, an upper bound or both")
        v = np.asarray(value, dtype=np.float64)
        ok = np.ones(v.shape, dtype=bool)
        lines, worst = [], []
        for side, b in (("lower", lower), ("upper", upper)):
            if b is None:
                continue
            if isinstance(b, Bound):
                limit = b.lower if side == "lower" else b.upper
                lines.append(b.describe(side))
            else:
                limit = np.asarray(b, dtype=np.float64)
                lines.append(f"{side} bound = {format_numbers(limit)} (a constant of the law, no margin)")
            excess = (limit - v) if side == "lower" else (v - limit)
            holds = ~(excess > 0) & ~np.isnan(v)
            ok = ok & holds
            if not np.all(holds):
                excess = np.broadcast_to(np.where(np.isnan(excess), np.inf, excess), np.broadcast(v, excess).shape)
                i = np.unravel_index(int(np.argmax(excess)), excess.shape)
                idx = tuple(int(k) for k in i)
                worst.append(f"furthest beyond the {side} limit: the element at {idx}, "
                             f"{format_numbers(np.broadcast_to(v, excess.shape)[i])}, by {format_numbers(excess[i])}")
        if np.all(ok):
            return
        relation = {(True, True): "lower limit <= value <= upper limit", (False, True): "value <= upper limit",
                    (True, False): "lower limit <= value"}[(lower is not None, upper is not None)]
        expected = Requirement("\n".join([f"{relation}, elementwise, where"] + lines + worst))
        assert_true(False, equation=self.equation, backend=self.label, law=law, inputs=self.inputs,
                    got=value if got is None else got, expected=expected)

    def _failure(self, got: Any, expected: Any, *, problem: str, expected_from: str,
                 hints: tuple[str, ...] = ()) -> Failure:
        return Failure(problem, self.equation, self.label, self.inputs, expected, got, expected_from, hints=hints)

    # -- hints ------------------------------------------------------------------
    def convention_hint(self, got: Any, fn: tuple[str, str] | None = None, index: int | None = None,
                        expected: Any = None) -> str:
        """For a student's result that differs only where a row is fully masked: the convention that
        explains it and the option that declares it (:func:`lmverify.students.conventions.convention_hint`)."""
        if self.backend.name != "impl" or fn is None or not self.inputs:
            return ""
        from lmverify.students.conventions import convention_hint

        return convention_hint(fn[1], self.inputs, got, expected, index)

    def mistake_hint(self, got: Any, fn: tuple[str, str] | None = None, index: int | None = None,
                     expected: Any = None) -> str:
        """If ``got`` equals a known mistake's result on the current inputs, a line naming it; for a student's
        result (``impl``, compared by :meth:`agree`) the table's mistakes are confirmed on second inputs and,
        where none remains, a generic diagnosis is tried (:mod:`lmverify.students.diagnosis`)."""
        if not self.inputs or (fn is not None and fn != (self.topic, self.name)):
            return ""
        table = self.entry.mistakes if self.entry is not None else ()
        from lmverify.students import diagnosis

        if self.backend.name != "impl" or fn is None or expected is None or not diagnosis.in_final_example():
            return mistake_hint(table, got, self.inputs, index, expected) if table else ""
        inputs, backend, (topic, name) = dict(self.inputs), self.backend, fn
        return diagnosis.diagnose(
            reference_fn=getattr(Backend("numpy").module(topic), name), inputs=inputs, got=got, expected=expected,
            index=index, table=table, call_student=lambda x: backend.call(topic, name, **x),
            format_table=lambda ms: mistake_hint(ms, got, inputs, index, expected),
            pinned=diagnosis.pinned_inputs(topic, name))


def mistake_hint(mistakes: Any, got: Any, inputs: Mapping[str, Any], index: int | None = None,
                 expected: Any = None) -> str:
    """The hint of the mistakes that explain ``got`` on ``inputs``: never a guess.

    A mistake explains a result only where there is evidence (:func:`explains`): the correct ``expected``
    must be known, the student's result must equal the mistake's at every position (non-finite positions
    matching in kind), and the mistake's result must differ from the correct one at a position where both
    are numbers (not NaN; -inf is a number here, as a mask writes it). A NaN where the correct result is a
    number is evidence only when every input is finite (NaN made from finite numbers, as by overflow or
    0 log 0, is what the mistake does); on an input holding -inf or NaN it is not: on an all -inf row the
    correct softmax, a max-shifted one and one without the shift are all NaN. Single mistakes are named
    before compound ones (``Mistake.compound``)."""
    if expected is None:
        return ""
    finite_inputs = all(_all_finite(v) for v in inputs.values())
    explaining = []
    for m in mistakes:
        try:
            with np.errstate(all="ignore"):
                wrong = m.fn(**inputs)
        except Exception:  # noqa: BLE001 - the mistake does not apply to this input
            continue
        if index is not None and isinstance(wrong, tuple):
            wrong = wrong[index]
        if explains(got, wrong, expected, nan_is_evidence=finite_inputs):
            explaining.append(m)
    if not explaining:
        return ""
    explaining.sort(key=lambda m: bool(getattr(m, "compound", False)))  # stable: the table's order otherwise
    # on a small input several mistakes can give the same numbers: name each, the student knows which applies
    first, *others = explaining
    return (f"Hint: your result equals what {first.hint} gives ({first.name})."
            + "".join(f" It also equals what {m.hint} gives ({m.name})." for m in others))


def _all_finite(v: Any) -> bool:
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        return True  # not numbers (a token list, a flag): nothing non-finite in it
    return bool(np.all(np.isfinite(a)))


def explains(got: Any, wrong: Any, expected: Any, *, nan_is_evidence: bool = False) -> bool:
    """Whether a mistake's result ``wrong`` explains the student's ``got`` where the correct result is
    ``expected``: ``got`` equals ``wrong`` everywhere (finite positions within the float32 tolerance,
    non-finite ones of the same kind), and ``wrong`` differs from ``expected`` at a position where neither
    is NaN (or, with ``nan_is_evidence``, where ``wrong`` is NaN and ``expected`` is not). Tuples of results
    (of different shapes) are taken element by element: every element must be equal, and at least one must
    show the difference."""
    seen = _explains(got, wrong, expected, nan_is_evidence)
    return seen is not None and seen


def _explains(got: Any, wrong: Any, expected: Any, nan_is_evidence: bool) -> bool | None:
    """None: ``got`` differs from ``wrong`` (or they cannot be compared); else whether ``wrong`` differs from
    ``expected`` where that is evidence."""
    if isinstance(got, tuple) or isinstance(wrong, tuple) or isinstance(expected, tuple):
        if not (isinstance(got, tuple) and isinstance(wrong, tuple) and isinstance(expected, tuple)
                and len(got) == len(wrong) == len(expected)):
            return None
        parts = [_explains(g, w, e, nan_is_evidence) for g, w, e in zip(got, wrong, expected)]
        return None if any(p is None for p in parts) else any(parts)
    try:
        g, w, e = (np.asarray(v, dtype=np.float64) for v in (got, wrong, expected))
    except (TypeError, ValueError):
        return None
    if g.shape != w.shape or w.shape != e.shape:
        return None
    tol = tolerance_for("float32")

    def close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return close_elementwise(a, b, tol)

    with np.errstate(all="ignore"):
        if not np.all(close(g, w)):
            return None
        numbers = ~np.isnan(w) & ~np.isnan(e)
        if nan_is_evidence:
            numbers = numbers | (np.isnan(w) & ~np.isnan(e))
        return bool(np.any(numbers & ~close(w, e)))


def bind(equation: str, backend: Backend, oracle: Backend | None = None) -> Check:
    return Check(equation, backend, oracle)


CheckFactory = Callable[[str], Check]
