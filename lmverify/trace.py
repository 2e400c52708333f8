"""``lmverify trace``: every quantity of a worked example at full precision, exactly and rounded (an
author's tool, not a report)."""

from __future__ import annotations

import numpy as np

from lmverify.backends import Backend
from lmverify.course.findings import _claimed_text
from lmverify.worked import Example, evaluate

#: seconds one exact simplification may take before the trace shows the form unsimplified (sp.simplify of a
#: logarithm of a 53-bit binary fraction ran for more than 10 minutes; the forms of the project's examples
#: simplify in well under a second each)
SIMPLIFY_SECONDS = 2.0
#: seconds all the simplifications of one trace may take together (then the rest are shown as computed)
TRACE_SIMPLIFY_SECONDS = 15.0
#: a float whose shortest decimal form has at most this many significant digits is taken to be that decimal
#: (an author's 0.1 is 1/10, not 3602879701896397/36028797018963968); longer ones are computed values,
#: converted exactly from their binary value
DECIMAL_DIGITS = 12


def _decimal_digits(text: str) -> int:
    mant = text.lower().split("e")[0].lstrip("-").replace(".", "").lstrip("0")
    return len(mant.rstrip("0")) if mant else 1


class AuthoredSympy(Backend):
    """The SymPy backend for ``trace``: a float the author wrote (one of the example's ``inputs``, or any
    float with a short decimal form) becomes the Rational of its decimal text (``0.1`` is ``1/10``), so the
    exact form reads as the page; other floats convert exactly from their binary value, as on ``sympy``."""

    def __init__(self, inputs: dict | None = None) -> None:
        super().__init__("sympy")
        self._authored = {float(v) for v in _floats(inputs or {})}

    def _rational(self, x: float):
        import sympy as sp

        from lmverify import convert

        x = float(x)
        if not np.isfinite(x):
            return convert.to_sympy(x)
        text = repr(x)
        if x in self._authored or _decimal_digits(text) <= DECIMAL_DIGITS:
            return sp.Rational(text)
        return convert.to_sympy(x)

    def scalar(self, x):
        if isinstance(x, (float, np.floating)) and not isinstance(x, bool):
            return self._rational(x)
        return super().scalar(x)

    def array(self, x):
        import sympy as sp

        arr = np.asarray(x)
        if arr.dtype.kind != "f":
            return super().array(x)
        vals = [self._rational(v) for v in arr.ravel()]
        if arr.ndim == 0:
            return vals[0]
        if arr.ndim == 2:
            return sp.Matrix(arr.shape[0], arr.shape[1], vals)
        return sp.ImmutableDenseNDimArray(vals, arr.shape)

    def const(self, x):
        if isinstance(x, (float, np.floating)):
            return self._rational(x)
        return super().const(x)


def _floats(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _floats(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _floats(v)
    elif isinstance(value, float):
        yield value


class _Timeout(Exception):
    pass


class Budget:
    """Exact simplification with a time limit per expression (``per``) and for the whole trace (``total``):
    ``sp.simplify`` runs under a SIGALRM timer (main thread, POSIX); where that is not available only the cheap
    ``logcombine``/``nsimplify``-free rewrites run."""

    def __init__(self, per: float, total: float) -> None:
        import time

        self.per, self.left, self._clock = per, total, time.monotonic

    def simplified(self, value) -> tuple[str, str]:
        """(the form to print, a note when it was not simplified)."""
        import sympy as sp

        if not isinstance(value, sp.Expr) or sp.count_ops(value) >= 200:
            return str(value), ""
        if self.left <= 0:
            return str(value), "the trace's time for simplification was used up"
        limit = min(self.per, self.left)
        start = self._clock()
        try:
            simple = _with_deadline(lambda: sp.simplify(value), limit)
            # the simpler of the two as a reader sees it: sp.simplify can turn log(9/10)/log(2) into
            # log((9/10)**(1/log(2)))
            best = min((value, simple), key=lambda e: (sp.count_ops(e), len(str(e))))
            return str(best), ""
        except _Timeout:
            return str(value), f"sp.simplify did not finish in {limit:.1f} s"
        except (TypeError, ValueError, RecursionError):
            return str(value), ""
        finally:
            self.left -= self._clock() - start


def _with_deadline(f, seconds: float):
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        raise _Timeout  # no timer here: do not risk an unbounded simplification

    def alarm(signum, frame):
        raise _Timeout

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return f()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


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
        exact = compute_native(example, AuthoredSympy(example.inputs))
    except NotForBackend as exc:
        exact = None
        out += ["", f"(no exact form: {exc})"]
    if exact is not None:
        out += ["", "## Exact (SymPy)", ""]
        budget = Budget(SIMPLIFY_SECONDS, TRACE_SIMPLIFY_SECONDS)
        notes = []
        for name, value in exact.items():
            shown, note = budget.simplified(value)
            if note:  # past the time limit: the numeric value, with a note
                numeric = q.get(name)
                arr = np.asarray(numeric, dtype=np.float64) if numeric is not None else None
                shown = (f"~ {float(arr)!r}" if arr is not None and arr.ndim == 0 else
                         f"~ {np.array2string(arr, precision=17)}" if arr is not None else shown)
                notes.append(f"{name}: {note}; the numeric value is shown")
            out.append(f"{name} = {shown}")
        if notes:
            out += ["", "Not simplified (time limit):", ""] + [f"- {n}" for n in notes]
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
