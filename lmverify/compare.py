"""Closeness checks whose failure messages are written for a person.

A failure names the equation (id and LaTeX from the catalogue), the backend,
the (hypothesis-shrunk, hence minimal) input, expected versus got, how many
elements mismatch, and the greatest absolute and relative difference with the
index where each occurs, in the manner of ``torch.testing.assert_close`` and
scipy.special's ``params => got != wanted`` lines.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

import numpy as np

from lmverify.convert import to_numpy
from lmverify.tolerance import Tolerance


@dataclass
class Failure:
    """What a failed check found, as data: the equation, the backend, the problem, the input, what was expected
    and from where, what was got, the details of the difference, and the hints. :meth:`render` builds the one
    text a person reads; the grader, the plugin and the in-process checks read the fields, never the text."""

    problem: str
    equation: str | None = None
    backend: str = "?"
    inputs: Mapping[str, Any] | None = None
    expected: Any = None
    got: Any = None
    expected_from: str = "reference"
    detail: str = ""
    hints: tuple[str, ...] = ()
    #: a line above the failure (e.g. which pinned input), and what the input is
    heading: str = ""
    input_label: str = "minimal: hypothesis shrinks failing inputs"

    def render(self) -> str:
        lines = [self.heading] if self.heading else []
        lines += [f"Equation {describe_equation(self.equation)}", f"Backend: {self.backend}",
                  f"Problem: {self.problem}"]
        if self.inputs:
            lines.append(f"Input ({self.input_label}):")
            for k, v in self.inputs.items():
                lines.append(f"  {k} =\n{_indent(_printable(v))}")
        lines.append(f"Expected ({self.expected_from}):\n{_indent(_printable(self.expected))}")
        lines.append(f"Got:\n{_indent(_printable(self.got))}")
        if self.detail:
            lines.append(self.detail)
        lines.extend(h for h in self.hints if h)
        return "\n".join(lines)


class VerificationError(AssertionError):
    """An implementation disagrees with the reference on some input: ``failure`` holds the fields (None for
    an error raised with a text alone), ``str()`` is the rendered text."""

    def __init__(self, message: "str | Failure") -> None:
        self.failure = message if isinstance(message, Failure) else None
        super().__init__(message.render() if isinstance(message, Failure) else message)

    @property
    def hints(self) -> tuple[str, ...]:
        return self.failure.hints if self.failure is not None else ()

    def with_hints(self, *hints: str) -> "VerificationError":
        """The same failure with more hint lines (``Hint: ...``, ``Convention: ...``)."""
        extra = tuple(h for h in hints if h)
        if self.failure is not None:
            return VerificationError(replace(self.failure, hints=self.failure.hints + extra))
        return VerificationError("\n".join((str(self),) + extra))


def _fmt(x: Any) -> str:
    if isinstance(x, np.ndarray) and x.dtype != bool:
        with np.printoptions(precision=8, suppress=False, linewidth=100, threshold=200):  # 1e-44 is not 0
            return np.array2string(x, separator=", ")
    if isinstance(x, float):
        return f"{x:.10g}"
    return repr(x)


def _indent(text: str, pad: str = "    ") -> str:
    return "\n".join(pad + line for line in text.splitlines())


class Requirement(str):
    """What a law requires, written out in words and numbers: printed as it is (not quoted like an input string)."""


def _printable(v: Any) -> str:
    """Any input a test can draw, printed: arrays, tensors, SymPy values, strings, corpora, nested lists."""
    if isinstance(v, Requirement):
        return str(v)
    if isinstance(v, (str, int, bool, type(None))):
        return repr(v)
    try:
        return _fmt(to_numpy(v))
    except (TypeError, ValueError):
        text = repr(v)
        return text if len(text) <= 2000 else text[:2000] + f" ... ({len(text)} characters)"


def _as_float_array(x: Any, what: str) -> np.ndarray | str:
    """``x`` as a float64 array, or a sentence saying why it is not one."""
    if x is None:
        return f"{what} is None (did the function forget to return?)"
    if isinstance(x, tuple):
        return f"{what} is a tuple of {len(x)} values"
    try:
        return np.asarray(to_numpy(x), dtype=np.float64)
    except (TypeError, ValueError):
        return f"{what} has type {type(x).__name__}, not an array of numbers"


def describe_equation(equation: str | None) -> str:
    if not equation:
        return "(equation not named)"
    try:
        from lmverify.catalogue import find

        entry = find(equation)
    except Exception:  # the message must never fail because of the catalogue
        return equation
    if entry is None:
        return equation
    return f"{equation}: {entry['latex']}\n  ({entry['page']}, section {entry['section']!r})"


def format_failure(
    got: Any,
    expected: Any,
    *,
    equation: str | None,
    backend: str,
    inputs: Mapping[str, Any] | None,
    problem: str,
    detail: str = "",
    expected_from: str = "reference",
) -> str:
    """The rendered text of a :class:`Failure` with these fields."""
    return Failure(problem, equation, backend, inputs, expected, got, expected_from, detail).render()


def close_elementwise(got: np.ndarray, expected: np.ndarray, tol: Tolerance) -> np.ndarray:
    """The suite's one rule for "equal within tolerance", element by element (same shapes): NaN equals NaN,
    an infinity equals the same infinity, and finite numbers are within ``tol.atol + tol.rtol * |expected|``.
    :func:`assert_close`, the hints' evidence (:func:`lmverify.check.explains`) and the tests of the mistake
    table all use it."""
    g = np.asarray(got, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    with np.errstate(all="ignore"):
        fg, fe = np.isfinite(g), np.isfinite(e)
        same_kind = (np.isnan(g) & np.isnan(e)) | ((g == e) & ~fg & ~fe)
        near = fg & fe & (np.abs(g - e) <= tol.atol + tol.rtol * np.abs(e))
    return same_kind | near


def assert_close(
    got: Any,
    expected: Any,
    tol: Tolerance,
    *,
    equation: str | None = None,
    backend: str = "?",
    inputs: Mapping[str, Any] | None = None,
    what: str = "result",
    expected_from: str = "reference",
) -> None:
    """Raise :class:`VerificationError` unless ``got`` is elementwise close to ``expected``.

    NaN must match NaN and infinities must match in sign; shapes must agree
    exactly (no silent broadcasting of a wrong-shaped student result).
    """
    __tracebackhide__ = True
    common = dict(equation=equation, backend=backend, inputs=inputs, expected_from=expected_from)
    e = np.asarray(to_numpy(expected), dtype=np.float64)
    g = _as_float_array(got, what)
    if isinstance(g, str):
        raise VerificationError(Failure(f"{g}; expected an array of shape {e.shape}", got=got, expected=e, **common))
    if g.shape != e.shape:
        raise VerificationError(Failure(f"{what} has shape {g.shape}, expected shape {e.shape}", got=g, expected=e,
                                        **common))
    nan_g, nan_e = np.isnan(g), np.isnan(e)
    finite = ~(nan_g | nan_e | np.isinf(g) | np.isinf(e))
    bad = ~close_elementwise(g, e, tol)
    if not bad.any():
        return
    absdiff = np.zeros_like(e)
    absdiff[finite] = np.abs(g[finite] - e[finite])
    with np.errstate(divide="ignore", invalid="ignore"):
        reldiff = np.where(finite & (e != 0), absdiff / np.abs(e), np.where(finite & (absdiff > 0), np.inf, 0.0))
    n_bad, n = int(bad.sum()), bad.size
    detail = [f"Mismatched elements: {n_bad} / {n} ({100.0 * n_bad / n:.1f}%)"]
    if finite.any() and absdiff.max() > 0:
        ia = np.unravel_index(int(np.argmax(absdiff)), e.shape)
        ir = np.unravel_index(int(np.argmax(np.where(finite, reldiff, 0.0))), e.shape)
        detail.append(
            f"Greatest absolute difference: {absdiff[ia]:.6g} at index {tuple(int(i) for i in ia)} "
            f"(up to {tol.atol:g} + {tol.rtol:g}*|expected| allowed)"
        )
        detail.append(f"Greatest relative difference: {reldiff[ir]:.6g} at index {tuple(int(i) for i in ir)}")
    first = np.argwhere(bad)[:5]
    for idx in first:
        t = tuple(int(i) for i in idx)
        detail.append(f"  at {t}: got {g[t]!r} != expected {e[t]!r}")
    if (nan_g & ~nan_e).any():
        detail.append("NaN where a number was expected (e.g. exp of a large number overflowing to inf, then inf / inf "
                      "or inf - inf; softmax over a row of -inf; 0 * log 0)")
    raise VerificationError(Failure(f"{what} differs beyond tolerance", got=g, expected=e, detail="\n".join(detail),
                                    **common))


def where_false(condition: Any, law: str) -> Requirement:
    """What a law without a numeric bound requires, in numbers: the law at every element, and where it fails."""
    c = np.asarray(condition)
    if c.ndim == 0:
        return Requirement(f"{law}: true (it is false)")
    bad = np.argwhere(~c.astype(bool))
    shown = ", ".join(str(tuple(int(i) for i in idx)) for idx in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return Requirement(f"{law}: true at each of the {c.size} elements (shape {c.shape}); "
                       f"false at {len(bad)}: index {shown}{more}")


def assert_true(
    condition: Any,
    *,
    equation: str | None,
    backend: str,
    law: str,
    inputs: Mapping[str, Any] | None = None,
    got: Any = None,
    expected: Any = None,
) -> None:
    """A law that must hold (e.g. 'masked weights are exactly 0'), with a readable failure.

    ``condition`` is a truth value or an array of them (the law holds where every element is true).
    ``expected`` says what the law requires (a bound, a value, a :class:`Requirement`); without it the
    failure says where the law fails, element by element: the "Expected" line is never ``None``.
    """
    __tracebackhide__ = True
    if bool(np.all(condition)):
        return
    if expected is None:
        expected = where_false(condition, law)
    raise VerificationError(Failure(f"law violated: {law}", equation, backend, inputs, expected, got,
                                    expected_from="what the law requires"))
