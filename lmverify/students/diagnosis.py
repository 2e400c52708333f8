"""Diagnosis beyond the mistake table: which small change of the reference computation gives the student's result.

When a student's result is wrong and no mistake of the registry's table explains it, this module tries a
small library of generic transformations of the NumPy reference (``reference/numpy/<topic>.py``):

========================  ====================================================================================
kind                      transformations
========================  ====================================================================================
the inputs                an argument negated, transposed, reversed in time (second-to-last axis); a bias
                          left out (zero); two arguments of one shape exchanged, or one used in place of the
                          other; the parameters of two gates (``W_s``, ``b_s``) exchanged, or one gate's
                          negated (a sigmoid of -a is 1 minus the gate); an optional argument left out (None);
                          a parameter ignored (always its default); an integer off by one
the result                its sign flipped; divided by ln 2 or ln 10 (a log in another base); the last or the
                          first time step dropped; the steps reversed, or shifted one step late behind an
                          initial state given as an argument; transposed; the sequence processed backwards
the computation           at one call site of the reference (or every site of one function): tanh left out or
                          a sigmoid in its place, a sigmoid left out or a tanh in its place, log2 / log10 for
                          log, the log left out, a mean for a sum and a sum for a mean, a sum over the other
                          axis, np.maximum / np.minimum left out or exchanged, argmin for argmax, a
                          concatenation in the other order, a flip left out, a (log-)softmax over the other
                          axis, a softmax for a log-softmax, raw logits for a log-softmax
========================  ====================================================================================

Each is a :class:`Transformation`: a name, the words of its hint ("the reference with the last time step
dropped"), and ``run(reference_fn, inputs)`` (which raises :class:`NotApplicable` where it does not apply).
Call sites are found by running the reference once with ``np`` (and the shared helpers such as ``softmax``
and ``_sigmoid``) replaced, in the reference modules' namespaces, by recording stand-ins; a site is a call
expression of the reference's source (file, line, columns), shown in the hint.

A hint is never a guess (:func:`diagnose`). A candidate must explain the failing input by the evidence rule
of :func:`lmverify.check.explains` (equal to the student's result everywhere, and different from the right
result at a position where both are numbers; NaN counts only when made from finite inputs; a result of
another shape than the right one is a difference too), and a second input must confirm it: the student's
function is called again (through the backend, so in the isolated student process under ``--impl``) on up to
five second inputs: three deterministic perturbations of the failing input (same shapes and kinds; the second
brings saturated numbers to O(1), the third also rolls token ids) and the pinned inputs of every registry
entry with that function. A candidate is refuted where the student's result differs from it, confirmed where
it equals it and differs from the right result.

1. The table first: a table mistake that explains the failing input and is confirmed (and not refuted) on a
   second input is named as the table words it; the library is not needed. A table mistake is weighed only
   on inputs with the same options (a convention, a flag) as the failing one: it is written for those.
2. Otherwise the library, with the table's mistakes that no second input refuted: the candidates that
   explain the failing input are weighed on the same second inputs. Where several still stand, up to twelve
   further perturbations (every other one with the integer arguments plus one) are computed for the
   candidates alone; where two of them differ, the student is asked there, which refutes at least one.
3. A table mistake still standing is named when every other standing explanation gave its numbers on every
   input (the table's words for the same transformation); else nothing. Otherwise the generic candidates
   that stand and were confirmed are named when they gave the same numbers on every input tried: one
   explanation, named by the simplest (the result's transformation, then the inputs', then a call site's,
   then a composite), the others given as the same numbers in other words. Two that differ somewhere: no hint.

A student's process that fails (a time limit, an exit) is asked nothing more; an error of the diagnosis
itself gives the table's one-input hint, as before the diagnosis existed.

Inside a hypothesis test the diagnosis runs only on the final replay of the minimal failing example (the
only failure whose message is shown); the examples tried while shrinking get the table's hint alone.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import linecache
import math
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from lmverify.students.loading import ImplFailure
from lmverify.tolerance import tolerance_for

__all__ = ["Transformation", "NotApplicable", "diagnose", "candidates", "agrees", "same", "second_inputs",
           "in_final_example"]


class NotApplicable(Exception):
    """The transformation does not apply to these inputs (a missing argument, a shape it cannot take)."""


@dataclass(frozen=True)
class Transformation:
    """One generic transformation of the reference computation.

    ``run(reference_fn, inputs)`` returns the transformed reference's result (the whole result; the caller
    picks the element of a tuple); it raises :class:`NotApplicable` (or any error of the reference on the
    transformed inputs) where it does not apply. ``hint`` completes "your result equals what ... gives".
    """

    name: str
    hint: str
    run: Callable[[Callable[..., Any], Mapping[str, Any]], Any]
    kind: str  # "result", "input" or "site": the order in which equivalent explanations are named
    applies: Callable[[Mapping[str, Any]], bool] = field(default=lambda inputs: True)

    def __call__(self, reference_fn: Callable[..., Any], inputs: Mapping[str, Any]) -> Any:
        if not self.applies(inputs):
            raise NotApplicable(self.name)
        with np.errstate(all="ignore"):
            return self.run(reference_fn, inputs)


# -- comparing results: the evidence rule of lmverify.check.explains, shapes included -----------------------


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    tol = tolerance_for("float32")
    fa, fb = np.isfinite(a), np.isfinite(b)
    same_kind = (np.isnan(a) & np.isnan(b)) | ((a == b) & ~fa & ~fb)
    near = fa & fb & (np.abs(a - b) <= tol.atol + tol.rtol * np.abs(b))
    return same_kind | near


def _floats(v: Any) -> np.ndarray | None:
    try:
        return np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def same(got: Any, wrong: Any) -> bool:
    """``got`` equals ``wrong`` everywhere (finite positions within the float32 tolerance, non-finite ones of
    the same kind, the same shape); tuples element by element."""
    if isinstance(got, tuple) or isinstance(wrong, tuple):
        return (isinstance(got, tuple) and isinstance(wrong, tuple) and len(got) == len(wrong)
                and all(same(g, w) for g, w in zip(got, wrong)))
    g, w = _floats(got), _floats(wrong)
    if g is None or w is None or g.shape != w.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.all(_close(g, w)))


def differs(wrong: Any, expected: Any, *, nan_is_evidence: bool) -> bool:
    """``wrong`` differs from the right result where that is evidence: another shape, or a position where
    neither is NaN and they are not close (with ``nan_is_evidence``: also where ``wrong`` is NaN and the
    right result is not)."""
    if isinstance(wrong, tuple) or isinstance(expected, tuple):
        if not (isinstance(wrong, tuple) and isinstance(expected, tuple) and len(wrong) == len(expected)):
            return True
        return any(differs(w, e, nan_is_evidence=nan_is_evidence) for w, e in zip(wrong, expected))
    w, e = _floats(wrong), _floats(expected)
    if w is None or e is None:
        return False
    if w.shape != e.shape:
        return True
    with np.errstate(all="ignore"):
        numbers = ~np.isnan(w) & ~np.isnan(e)
        if nan_is_evidence:
            numbers = numbers | (np.isnan(w) & ~np.isnan(e))
        return bool(np.any(numbers & ~_close(w, e)))


def agrees(got: Any, wrong: Any, expected: Any, *, nan_is_evidence: bool) -> bool:
    """Whether ``wrong`` explains the student's ``got`` where the right result is ``expected``:
    :func:`same` and :func:`differs` (the rule of :func:`lmverify.check.explains`, where a result of
    another shape than the right one also counts as a difference)."""
    return same(got, wrong) and differs(wrong, expected, nan_is_evidence=nan_is_evidence)


def _all_finite(inputs: Mapping[str, Any]) -> bool:
    for v in inputs.values():
        a = _floats(v) if not isinstance(v, (str, bytes)) else None
        if a is not None and not np.all(np.isfinite(a)):
            return False
    return True


def _pick(result: Any, index: int | None) -> Any:
    if index is not None and isinstance(result, tuple):
        if index >= len(result):
            raise NotApplicable(f"the result has no element {index}")
        return result[index]
    return result


# -- the library: transformations of the inputs and of the result --------------------------------------------


def _is_float_array(v: Any) -> bool:
    return isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.ndim >= 1


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _is_bias(name: str) -> bool:
    return name == "b" or name.startswith("b_") or name.startswith("bias")


def _with(inputs: Mapping[str, Any], **changes: Any) -> dict[str, Any]:
    for k in changes:
        if k not in inputs:
            raise NotApplicable(f"no argument {k}")
    return {**inputs, **changes}


def _time_axis(a: np.ndarray) -> int:
    if a.ndim == 0:
        raise NotApplicable("a scalar has no time axis")
    return -2 if a.ndim >= 2 else -1


def _input(name: str, hint: str, change: Callable[[Mapping[str, Any]], dict[str, Any]], *needs: str) -> Transformation:
    """A transformation of the inputs; it applies where every argument it changes (``needs``) is given."""
    return Transformation(name, hint, lambda ref, inputs: ref(**change(inputs)), "input",
                          applies=lambda inputs: all(inputs.get(n) is not None for n in needs))


def _result(name: str, hint: str, change: Callable[[Any], Any]) -> Transformation:
    return Transformation(name, hint, lambda ref, inputs: change(ref(**inputs)), "result")


def _on_arrays(f: Callable[[np.ndarray], np.ndarray]) -> Callable[[Any], Any]:
    """A change of the result applied to an array result (to each array of a tuple result)."""
    def apply(r: Any) -> Any:
        if isinstance(r, tuple):
            return tuple(apply(x) for x in r)
        a = _floats(r)
        if a is None:
            raise NotApplicable("the result is not numbers")
        return f(a)
    return apply


def _drop_last(a: np.ndarray) -> np.ndarray:
    ax = _time_axis(a)
    if a.shape[ax] < 2:
        raise NotApplicable("one step only")
    return np.delete(a, -1, axis=ax)


def _drop_first(a: np.ndarray) -> np.ndarray:
    ax = _time_axis(a)
    if a.shape[ax] < 2:
        raise NotApplicable("one step only")
    return np.delete(a, 0, axis=ax)


def _reverse(a: np.ndarray) -> np.ndarray:
    return np.flip(a, axis=_time_axis(a)).copy()


def _transpose(a: np.ndarray) -> np.ndarray:
    if a.ndim != 2:
        raise NotApplicable("not a matrix")
    return a.T.copy()


def _late(init_name: str) -> Callable[[Mapping[str, Any]], Callable[[Any], Any]]:
    def make(inputs: Mapping[str, Any]) -> Callable[[Any], Any]:
        init = np.asarray(inputs[init_name], dtype=np.float64)

        def f(a: np.ndarray) -> np.ndarray:
            if a.ndim < 2 or a.shape[:-2] + a.shape[-1:] != init.shape[: a.ndim - 2] + init.shape[-1:] \
                    or init.ndim != a.ndim - 1:
                raise NotApplicable(f"{init_name} is not one step of the result")
            return np.concatenate([init[..., None, :], a[..., :-1, :]], axis=-2)
        return f
    return make


def _input_transformations(reference_fn: Callable[..., Any], inputs: Mapping[str, Any]) -> list[Transformation]:
    out: list[Transformation] = []
    arrays = [k for k, v in inputs.items() if _is_float_array(v)]
    numbers = [k for k, v in inputs.items() if _is_number(v)]
    try:
        params = inspect.signature(reference_fn).parameters
    except (TypeError, ValueError):
        params = {}

    def neg(*names: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
        return lambda inp: _with(inp, **{n: -np.asarray(inp[n]) if isinstance(inp[n], np.ndarray) else -inp[n]
                                         for n in names})

    for a in arrays:
        out.append(_input(f"{a} negated", f"the reference with {a} negated", neg(a), a))
        if _is_bias(a):
            out.append(_input(f"{a} ignored", f"the reference with the bias {a} left out (taken as zero)",
                              lambda inp, a=a: _with(inp, **{a: np.zeros_like(np.asarray(inp[a], dtype=np.float64))}), a))
        if inputs[a].ndim == 2:
            out.append(_input(f"{a} transposed", f"the reference with {a} transposed",
                              lambda inp, a=a: _with(inp, **{a: _transpose(np.asarray(inp[a], dtype=np.float64))}), a))
        if inputs[a].ndim >= 2:
            out.append(_input(f"{a} reversed in time", f"the reference with {a} reversed along its time axis "
                              "(the second-to-last)",
                              lambda inp, a=a: _with(inp, **{a: _reverse(np.asarray(inp[a], dtype=np.float64))}), a))
            out.append(Transformation(
                f"{a} processed backwards", f"the reference run on {a} reversed in time, its outputs reversed back",
                lambda ref, inp, a=a: _on_arrays(_reverse)(ref(**_with(inp, **{a: _reverse(np.asarray(inp[a], dtype=np.float64))}))),
                "composite"))
    for a in numbers:
        out.append(_input(f"{a} negated", f"the reference with {a} negated", neg(a), a))
    for a, b in itertools.combinations(arrays, 2):
        if np.shape(inputs[a]) != np.shape(inputs[b]):
            continue
        out.append(_input(f"{a} and {b} exchanged", f"the reference with {a} and {b} exchanged",
                          lambda inp, a=a, b=b: _with(inp, **{a: inp[b], b: inp[a]}), a, b))
        out.append(_input(f"{b} in place of {a}", f"the reference with {b} used in place of {a}",
                          lambda inp, a=a, b=b: _with(inp, **{a: inp[b]}), a, b))
        out.append(_input(f"{a} in place of {b}", f"the reference with {a} used in place of {b}",
                          lambda inp, a=a, b=b: _with(inp, **{b: inp[a]}), a, b))
    # the parameters of one gate: W_s and b_s (W and b for the unnamed one)
    groups: dict[str, tuple[str, ...]] = {}
    for a in arrays:
        if a == "W" or a.startswith("W_"):
            s = a[2:]
            bias = f"b_{s}" if s else "b"
            groups[s] = (a, bias) if bias in arrays else (a,)
    for s, names in groups.items():
        if len(names) > 1:
            out.append(_input(f"{', '.join(names)} negated",
                              f"the reference with {' and '.join(names)} negated (through a sigmoid: 1 minus the gate, "
                              "the gate's roles exchanged)", neg(*names), *names))
    for (s1, g1), (s2, g2) in itertools.combinations(groups.items(), 2):
        if len(g1) == len(g2) > 1 and all(np.shape(inputs[x]) == np.shape(inputs[y]) for x, y in zip(g1, g2)):
            out.append(_input(f"{', '.join(g1)} and {', '.join(g2)} exchanged",
                              f"the reference with the parameters {', '.join(g1)} and {', '.join(g2)} exchanged",
                              lambda inp, g1=g1, g2=g2: _with(inp, **{x: inp[y] for x, y in zip(g1, g2)},
                                                              **{y: inp[x] for x, y in zip(g1, g2)}), *g1, *g2))
    for k, p in params.items():
        if k not in inputs or p.default is inspect.Parameter.empty:
            continue
        v = inputs[k]
        if p.default is None:
            if v is not None and not _is_bias(k):
                out.append(_input(f"{k} ignored", f"the reference with {k} left out ({k}=None)",
                                  lambda inp, k=k: _with(inp, **{k: None}), k))
        elif isinstance(p.default, (int, float, str)) and not isinstance(p.default, bool) and v is not None \
                and np.ndim(v) == 0 and not _equal_scalar(v, p.default):
            out.append(_input(f"{k} ignored (always {p.default!r})",
                              f"the reference with {k} at its default {p.default!r}, whatever {k} is given",
                              lambda inp, k=k, d=p.default: _with(inp, **{k: d})))
    for k in numbers:
        v = inputs[k]
        if isinstance(v, (int, np.integer)):
            out.append(_input(f"{k} - 1 for {k}", f"the reference with {k} - 1 in place of {k} (off by one)",
                              lambda inp, k=k: _with(inp, **{k: int(inp[k]) - 1}), k))
            out.append(_input(f"{k} + 1 for {k}", f"the reference with {k} + 1 in place of {k} (off by one)",
                              lambda inp, k=k: _with(inp, **{k: int(inp[k]) + 1}), k))
    return out


def _equal_scalar(v: Any, d: Any) -> bool:
    try:
        return bool(v == d)
    except Exception:  # noqa: BLE001 - incomparable: not equal
        return False


def _result_transformations(inputs: Mapping[str, Any]) -> list[Transformation]:
    out = [
        _result("sign flipped", "the reference with its sign flipped (minus the right result)", _on_arrays(np.negative)),
        _result("log base 2", "the reference divided by ln 2 (a logarithm in base 2 instead of the natural log)",
                _on_arrays(lambda a: a / math.log(2.0))),
        _result("log base 10", "the reference divided by ln 10 (a logarithm in base 10 instead of the natural log)",
                _on_arrays(lambda a: a / math.log(10.0))),
        _result("last time step dropped", "the reference with the last time step dropped", _on_arrays(_drop_last)),
        _result("first time step dropped", "the reference with the first time step dropped", _on_arrays(_drop_first)),
        _result("time steps in reverse order", "the reference with its time steps in reverse order",
                _on_arrays(_reverse)),
        _result("result transposed", "the reference transposed", _on_arrays(_transpose)),
    ]
    for a, v in inputs.items():
        if _is_float_array(v):
            out.append(Transformation(
                f"outputs one step late ({a} first)",
                f"the reference's outputs shifted one step late: {a} first, the last step missing",
                lambda ref, inp, a=a: _on_arrays(_late(a)(inp))(ref(**inp)), "result"))
    return out


# -- the library: call sites of the reference computation ----------------------------------------------------


def _sig(x: Any) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _other_axis(axis: Any, ndim: int) -> int:
    if ndim < 2 or not isinstance(axis, (int, np.integer)):
        raise NotApplicable("no other axis")
    a = int(axis) % ndim
    return (a - 1) % ndim if a == ndim - 1 else ndim - 1


def _axis_variant(f: Callable, x: Any, *args: Any, axis: Any = None, **kw: Any) -> Any:
    x = np.asarray(x)
    return f(x, *args, axis=_other_axis(axis, x.ndim), **kw)


def _kept(which: int) -> Callable:
    def v(f: Callable, a: Any, b: Any, *args: Any, **kw: Any) -> Any:
        a, b = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
        return (a if which == 0 else b).copy()
    return v


def _swap_last_axes(f: Callable, z: Any, *args: Any, **kw: Any) -> Any:
    z = np.asarray(z, dtype=np.float64)
    if z.ndim < 2:
        raise NotApplicable("no other axis")
    return np.swapaxes(f(np.swapaxes(z, -1, -2), *args, **kw), -1, -2)


#: api -> [(variant label, stand-in(original, *args, **kwargs))]; an api is a NumPy function called as ``np.<api>``
#: by the reference, or one of the shared helpers in _HELPERS
_VARIANTS: dict[str, list[tuple[str, Callable[..., Any]]]] = {
    "tanh": [("the tanh left out", lambda f, x, *a, **k: np.asarray(x, dtype=np.float64)),
             ("a sigmoid in place of the tanh", lambda f, x, *a, **k: _sig(x))],
    "log": [("log2 in place of the natural log", lambda f, x, *a, **k: np.log2(x, *a, **k)),
            ("log10 in place of the natural log", lambda f, x, *a, **k: np.log10(x, *a, **k)),
            ("the log left out", lambda f, x, *a, **k: np.asarray(x, dtype=np.float64))],
    "sum": [("a mean in place of the sum", lambda f, *a, **k: np.mean(*a, **k)),
            ("the sum over another axis", lambda f, *a, **k: _axis_variant(f, *a, **k))],
    "mean": [("a sum in place of the mean", lambda f, *a, **k: np.sum(*a, **k)),
             ("the mean over another axis", lambda f, *a, **k: _axis_variant(f, *a, **k))],
    "maximum": [("np.maximum left out (its first operand kept)", _kept(0)),
                ("np.maximum left out (its second operand kept)", _kept(1)),
                ("np.minimum in place of np.maximum", lambda f, *a, **k: np.minimum(*a, **k))],
    "minimum": [("np.minimum left out (its first operand kept)", _kept(0)),
                ("np.minimum left out (its second operand kept)", _kept(1)),
                ("np.maximum in place of np.minimum", lambda f, *a, **k: np.maximum(*a, **k))],
    "argmax": [("argmin in place of argmax", lambda f, *a, **k: np.argmin(*a, **k))],
    "argmin": [("argmax in place of argmin", lambda f, *a, **k: np.argmax(*a, **k))],
    "concatenate": [("the concatenation in the other order", lambda f, seq, *a, **k: f(list(seq)[::-1], *a, **k))],
    "flip": [("the flip left out (not reversed)", lambda f, x, *a, **k: np.asarray(x))],
    # shared helpers of the reference modules
    "softmax": [("a softmax over the second-to-last axis", _swap_last_axes)],
    "log_softmax": [("a softmax in place of the log-softmax (the log left out)", lambda f, z, *a, **k: np.exp(f(z, *a, **k))),
                    ("the raw logits in place of the log-softmax (not normalised)",
                     lambda f, z, *a, **k: np.asarray(z, dtype=np.float64)),
                    ("a log-softmax over the second-to-last axis", _swap_last_axes)],
    "sigmoid": [("a tanh in place of the sigmoid", lambda f, x, *a, **k: np.tanh(np.asarray(x, dtype=np.float64))),
                ("the sigmoid left out", lambda f, x, *a, **k: np.asarray(x, dtype=np.float64))],
    "log_sigmoid": [("a sigmoid in place of the log-sigmoid (the log left out)", lambda f, x, *a, **k: np.exp(f(x, *a, **k)))],
}

#: the reference's shared helpers, by (module, name) -> api
_HELPERS = {("reference.numpy.attention", "softmax"): "softmax",
            ("reference.numpy._common", "log_softmax"): "log_softmax",
            ("reference.numpy.recurrent", "_sigmoid"): "sigmoid",
            ("reference.numpy.embeddings", "_log_sigmoid"): "log_sigmoid"}


@dataclass(frozen=True)
class Site:
    """A call expression in the reference's source: file, line, columns (UTF-8 bytes), and the function it is in."""

    filename: str
    line: int
    col: int
    end_col: int
    function: str

    @property
    def module(self) -> str:
        return self.filename.rsplit("/", 1)[-1]

    @property
    def source(self) -> str:
        text = linecache.getline(self.filename, self.line).encode("utf-8")
        return text[self.col:self.end_col].decode("utf-8", "replace") if self.end_col > self.col else text.decode().strip()


_POSITIONS: dict[Any, list] = {}


def _site_of(frame: Any) -> Site | None:
    code = frame.f_code
    pos = _POSITIONS.get(code)
    if pos is None:
        pos = _POSITIONS[code] = list(code.co_positions())
    i = frame.f_lasti // 2
    if not 0 <= i < len(pos):
        return None
    line, end_line, col, end_col = pos[i]
    if line is None or col is None:
        return None
    return Site(code.co_filename, line, col, end_col if end_line == line and end_col is not None else col,
                code.co_name)


class _Patch:
    """What the stand-ins do: record the sites they are called from, and run a variant at the chosen site(s)."""

    def __init__(self, api: str | None = None, site: Site | None = None, variant: Callable | None = None) -> None:
        self.api, self.site, self.variant = api, site, variant
        self.seen: dict[tuple[str, Site], None] = {}

    def dispatch(self, api: str, original: Callable, frame: Any, args: tuple, kwargs: dict) -> Any:
        site = _site_of(frame)
        if site is not None:
            self.seen.setdefault((api, site), None)
        if self.variant is not None and api == self.api and (self.site is None or self.site == site):
            return self.variant(original, *args, **kwargs)
        return original(*args, **kwargs)


class _NumpyStandIn:
    """``np`` for the reference modules: every attribute is NumPy's, the functions of _VARIANTS go through the patch."""

    def __init__(self, patch: _Patch) -> None:
        self._patch = patch

    def __getattr__(self, name: str) -> Any:
        real = getattr(np, name)
        if name not in _VARIANTS:
            return real
        patch = self._patch

        def call(*args: Any, **kwargs: Any) -> Any:
            return patch.dispatch(name, real, sys._getframe(1), args, kwargs)
        return call


_TARGETS: dict[tuple, list[tuple[dict, str, str | None, Callable | None]]] = {}


def _targets() -> list[tuple[dict, str, str | None, Callable | None]]:
    """Where the stand-ins go: (module namespace, name, helper api or None for ``np``, the helper), for every loaded
    reference module; found once per set of loaded modules."""
    mods = tuple(sorted((n, id(m)) for n, m in list(sys.modules.items())
                        if m is not None and (n == "reference.numpy" or n.startswith("reference.numpy."))))
    found = _TARGETS.get(mods)
    if found is not None:
        return found
    helpers: dict[int, tuple[str, Callable]] = {}
    for (mod, name), api in _HELPERS.items():
        try:
            f = getattr(importlib.import_module(mod), name)
        except (ImportError, AttributeError):
            continue
        helpers[id(f)] = (api, f)
    found = []
    for n, _ in mods:
        d = sys.modules[n].__dict__
        for k, v in list(d.items()):
            if v is np:
                found.append((d, k, None, None))
            elif callable(v) and id(v) in helpers and helpers[id(v)][1] is v:
                found.append((d, k, helpers[id(v)][0], v))
    _TARGETS.clear()
    _TARGETS[mods] = found
    return found


@contextmanager
def _patched(patch: _Patch) -> Iterator[None]:
    stand_in = _NumpyStandIn(patch)

    def wrap(api: str, f: Callable) -> Callable:
        def helper(*args: Any, **kwargs: Any) -> Any:
            return patch.dispatch(api, f, sys._getframe(1), args, kwargs)
        return helper

    saved: list[tuple[dict, str, Any]] = []
    try:
        for d, k, api, f in _targets():
            saved.append((d, k, d[k]))
            d[k] = stand_in if api is None else wrap(api, f)
        yield
    finally:
        for d, k, v in reversed(saved):
            d[k] = v


def call_sites(reference_fn: Callable[..., Any], inputs: Mapping[str, Any]) -> list[tuple[str, Site]]:
    """The (api, site) pairs the reference passes through on ``inputs`` (in the order first met)."""
    patch = _Patch()
    try:
        with _patched(patch), np.errstate(all="ignore"):
            reference_fn(**inputs)
    except Exception:  # noqa: BLE001 - the reference refuses the input: no sites
        return []
    return list(patch.seen)


def _site_transformations(reference_fn: Callable[..., Any], inputs: Mapping[str, Any]) -> list[Transformation]:
    sites = call_sites(reference_fn, inputs)
    out: list[Transformation] = []
    by_api: dict[str, list[Site]] = {}
    for api, site in sites:
        by_api.setdefault(api, []).append(site)

    def run_with(api: str, site: Site | None, variant: Callable) -> Callable:
        def run(ref: Callable, inp: Mapping[str, Any]) -> Any:
            with _patched(_Patch(api, site, variant)):
                return ref(**inp)
        return run

    for api, where in by_api.items():
        for label, variant in _VARIANTS[api]:
            for site in where:
                out.append(Transformation(f"{label} at `{site.source}` ({site.function})",
                                          f"the reference with {label} at `{site.source}` (in {site.function}, "
                                          f"{site.module} line {site.line})", run_with(api, site, variant), "site"))
            if len(where) > 1:
                functions = sorted({s.function for s in where})
                out.append(Transformation(f"{label} everywhere in {', '.join(functions)}",
                                          f"the reference with {label} at every one of its {len(where)} calls "
                                          f"(in {', '.join(functions)})", run_with(api, None, variant), "site"))
    return out


def candidates(reference_fn: Callable[..., Any], inputs: Mapping[str, Any]) -> list[Transformation]:
    """Every generic transformation tried for ``reference_fn`` on ``inputs``: of the result first, then of the
    inputs, then at the call sites the reference passes through on ``inputs`` (the order equivalent
    explanations are named in)."""
    return _result_transformations(inputs) + _input_transformations(reference_fn, inputs) \
        + _site_transformations(reference_fn, inputs)


# -- second inputs -------------------------------------------------------------------------------------------


def _perturb_array(a: np.ndarray, rng: np.random.Generator, rescale: bool = False) -> np.ndarray:
    if a.dtype.kind != "f" or a.size == 0:
        return a
    fin = np.isfinite(a)
    x = a[fin]
    if x.size == 0:
        return a
    out = a.astype(np.float64).copy()
    u = rng.uniform(-1.0, 1.0, size=x.shape)
    counts = np.all(x >= 0) and np.all(x == np.round(x)) and np.any(x > 1)
    if rescale and not counts and np.max(np.abs(x)) > 4.0:  # saturated numbers (1e4 logits) brought to O(1)
        x = 2.0 * x / np.max(np.abs(x))
    if counts:  # counts: stay whole, zeros stay zero
        new = np.where(x > 0, x + rng.integers(0, 3, size=x.shape), 0.0)
    elif np.all((x >= 0) & (x <= 1)):  # probabilities and gates: stay in [0, 1]; a distribution stays one
        new = np.clip(x + 0.2 * u, 0.02, 0.98)
        if a.ndim >= 1 and np.all(fin) and np.allclose(a.sum(axis=-1), 1.0):
            new = new.reshape(a.shape)
            new = new / new.sum(axis=-1, keepdims=True)
            out[...] = new
            return out
    elif np.all(x >= 0) or np.all(x <= 0):  # one sign (log-probabilities, norms): keep it; zeros move too (ties)
        direction = 1.0 if np.all(x >= 0) else -1.0
        scale = float(np.mean(np.abs(x))) or 1.0
        new = x * (1.0 + 0.4 * np.abs(u)) + direction * 0.3 * scale * rng.uniform(0.0, 1.0, size=x.shape)
    else:
        scale = float(np.mean(np.abs(x))) or 1.0
        new = x * (1.0 + 0.3 * u) + 0.3 * scale * rng.uniform(-1.0, 1.0, size=x.shape)
    out[fin] = new
    return out


def _roll(value: Any) -> Any:
    """A sequence of token ids rolled by one position (the same ids, so still valid, in another order)."""
    if isinstance(value, np.ndarray) and value.ndim == 1 and value.dtype.kind in "iu" and value.size > 1:
        return np.roll(value, 1)
    if isinstance(value, list) and len(value) > 1 and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return value[-1:] + value[:-1]
    return value


def _perturb(value: Any, rng: np.random.Generator, rescale: bool = False, roll: bool = False) -> Any:
    if roll:
        rolled = _roll(value)
        if rolled is not value:
            return rolled
    if isinstance(value, np.ndarray):
        return _perturb_array(value, rng, rescale)
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and value != 0:
        return float(value) * (1.0 + 0.2 * rng.uniform(-1.0, 1.0))
    if hasattr(value, "__dict__") and not callable(getattr(value, "__array__", None)) and not isinstance(value, type):
        arrays = {k: v for k, v in vars(value).items() if isinstance(v, np.ndarray) and v.dtype.kind == "f"}
        if arrays:  # an object holding float arrays (a decoding model's table): the same object, new numbers
            import copy

            clone = copy.copy(value)
            for k, v in arrays.items():
                setattr(clone, k, _perturb_array(v, rng, rescale))
            return clone
    return value


def second_inputs(inputs: Mapping[str, Any], pinned: Iterable[Mapping[str, Any]] = (), *, seeds: int = 3) -> list[dict]:
    """Inputs to confirm a diagnosis on: ``seeds`` deterministic perturbations of ``inputs`` (same shapes and
    kinds: counts stay whole and non-negative, probabilities in [0, 1], token ids, masks, words and sizes
    unchanged; from the second on, arrays of large magnitude are first brought to O(1), so a saturated input
    is followed by one that is not; the third also rolls sequences of token ids by one position), then the
    ``pinned`` inputs (those that are not ``inputs`` itself)."""
    out: list[dict] = []
    for seed in range(1, seeds + 1):
        rng = np.random.default_rng(20260 + seed)
        out.append({k: _perturb(v, rng, rescale=seed > 1, roll=seed > 2) for k, v in inputs.items()})
    for p in pinned:
        if not _same_inputs(p, inputs):
            out.append(dict(p))
    return out


def _extra_inputs(inputs: Mapping[str, Any], n: int = 12) -> Iterator[dict]:
    """Further perturbations of ``inputs`` (seeds after those of :func:`second_inputs`), to tell candidates apart;
    every other one also adds one to the integer arguments (a beam width, a window: the reference refuses those
    it cannot take, and such an input is skipped)."""
    for seed in range(4, 4 + n):
        rng = np.random.default_rng(20260 + seed)
        out = {k: _perturb(v, rng, rescale=seed % 2 == 0, roll=seed % 3 == 0) for k, v in inputs.items()}
        if seed % 2 == 1:
            out = {k: v + 1 if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) else v
                   for k, v in out.items()}
        yield out


def _same_options(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """The same arguments given, and the same value for each that is not numbers (a convention, a flag, None)."""
    if set(a) != set(b):
        return False
    for k, v in a.items():
        if v is None or isinstance(v, (str, bool, np.bool_)):
            if not (type(b[k]) is type(v) and b[k] == v):
                return False
    return True


def _same_inputs(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if set(a) != set(b):
        return False
    for k in a:
        try:
            if not np.array_equal(np.asarray(a[k], dtype=object), np.asarray(b[k], dtype=object)):
                return False
        except Exception:  # noqa: BLE001 - incomparable values: different inputs
            return False
    return True


def pinned_inputs(topic: str, name: str) -> list[Mapping[str, Any]]:
    """The pinned inputs of every registry entry whose function is ``topic.name`` (several equations can share
    one function, e.g. recurrent.bidirectional and seq2seq.bidirectional_encoder): second inputs of other
    shapes than the failing one."""
    from lmverify import registry

    out: list[Mapping[str, Any]] = []
    for e in registry.load():
        try:
            if (e.function_topic, e.function_name) == (topic, name):
                out.extend(p.kwargs for p in e.pinned)
        except Exception:  # noqa: BLE001 - an entry the catalogue does not know: not this function's
            continue
    return out


# -- the diagnosis -------------------------------------------------------------------------------------------


def in_final_example() -> bool:
    """False while hypothesis shrinks (its failures' messages are never shown); True on its final replay
    of the minimal example and outside hypothesis."""
    try:
        from hypothesis.control import current_build_context

        ctx = current_build_context()
    except Exception:  # noqa: BLE001 - no hypothesis, or not inside a test: a plain call
        return True
    return bool(getattr(ctx, "is_final", True))


def _alike(a: "_Candidate", b: "_Candidate") -> bool:
    """The same numbers on every input both were computed on."""
    return all(same(a.results[k], b.results[k]) for k in a.results.keys() & b.results.keys())


class _NoAnswer(Exception):
    """The student's function gave no result on a second input."""


@dataclass
class _Candidate:
    label: str
    kind: str  # "table" or the transformation's kind
    compute: Callable[[Mapping[str, Any]], Any]  # inputs -> the picked result
    obj: Any
    results: dict = field(default_factory=dict)  # input's key ("first", "second 2", "extra 5") -> its result
    refuted: bool = False
    confirmed: bool = False


def diagnose(*, reference_fn: Callable[..., Any], inputs: Mapping[str, Any], got: Any, expected: Any,
             index: int | None, table: Sequence[Any], call_student: Callable[[Mapping[str, Any]], Any],
             format_table: Callable[[Sequence[Any]], str], pinned: Iterable[Mapping[str, Any]] = (),
             max_second: int = 5) -> str:
    """The hint for a wrong result ``got`` (on ``inputs``, where the right result is ``expected``), or ''.

    ``table`` are the registry's mistakes (``.fn``, ``.name``, ``.hint``); ``format_table`` words the hint of
    the table mistakes that remain; ``call_student(inputs)`` calls the student's function again (its whole
    result); ``index`` picks the element of a tuple result being compared. See the module docstring.

    Should the diagnosis itself fail (a transformation the library did not foresee), the table's one-input
    hint is given, as before the diagnosis existed: never an error from inside the hint."""
    if expected is None:
        return ""
    try:
        return _diagnose(reference_fn, inputs, got, expected, index, table, call_student, format_table, pinned,
                         max_second)
    except Exception:  # noqa: BLE001 - see the docstring
        return format_table(table) if table else ""


def _diagnose(reference_fn: Callable[..., Any], inputs: Mapping[str, Any], got: Any, expected: Any,
              index: int | None, table: Sequence[Any], call_student: Callable[[Mapping[str, Any]], Any],
              format_table: Callable[[Sequence[Any]], str], pinned: Iterable[Mapping[str, Any]],
              max_second: int) -> str:
    nan_evidence = _all_finite(inputs)

    def table_fn(m: Any) -> Callable[[Mapping[str, Any]], Any]:
        def compute(inp: Mapping[str, Any]) -> Any:
            with np.errstate(all="ignore"):
                return _pick(m.fn(**inp), index)
        return compute

    def generic_fn(t: Transformation) -> Callable[[Mapping[str, Any]], Any]:
        return lambda inp: _pick(t(reference_fn, inp), index)

    def explaining(pool: list[_Candidate]) -> list[_Candidate]:
        out = []
        for c in pool:
            try:
                wrong = c.compute(inputs)
            except Exception:  # noqa: BLE001 - does not apply to this input
                continue
            if agrees(got, wrong, expected, nan_is_evidence=nan_evidence):
                c.results["first"] = wrong
                out.append(c)
        return out

    seconds: list[tuple[dict, Any, Any]] | None = None  # (input, right result, the student's result)
    unusable: list[str] = []  # the student's process failed (a time limit, an exit): ask it nothing more

    def ask(x: Mapping[str, Any]) -> Any:
        """The student's result on ``x``; raises _NoAnswer where there is none (and stops asking after a failure
        of the process itself, a time limit or an exit, which ImplFailure reports)."""
        if unusable:
            raise _NoAnswer
        try:
            return _pick(call_student(x), index)
        except ImplFailure as exc:
            unusable.append(str(exc))
            raise _NoAnswer from None
        except Exception:  # noqa: BLE001 - the student's function fails on this input: no evidence either way
            raise _NoAnswer from None

    def second_results() -> list[tuple[dict, Any, Any]]:
        nonlocal seconds
        if seconds is None:
            seconds = []
            for x2 in second_inputs(inputs, pinned):
                if len(seconds) >= max_second:
                    break
                try:
                    with np.errstate(all="ignore"):
                        right = _pick(reference_fn(**x2), index)
                except Exception:  # noqa: BLE001 - the reference refuses this input: not a second input
                    continue
                try:
                    theirs = ask(x2)
                except _NoAnswer:
                    continue
                seconds.append((x2, right, theirs))
        return seconds

    def weigh(cands: list[_Candidate]) -> None:
        """Each candidate against the student's result on the second inputs: refuted or confirmed."""
        if not cands:
            return
        for n, (x2, right, theirs) in enumerate(second_results()):
            nan2 = _all_finite(x2)
            options_kept = _same_options(inputs, x2)
            for c in cands:
                if c.refuted or (c.kind == "table" and not options_kept):
                    continue  # a table mistake is written for the options of the failing input (a convention, a feed)
                try:
                    wrong = c.compute(x2)
                except NotApplicable:  # this input lacks what the candidate changes: no evidence either way
                    continue
                except Exception:  # noqa: BLE001 - the candidate cannot make the student's result here
                    c.refuted = True
                    continue
                if not same(theirs, wrong):
                    c.refuted = True
                    continue
                c.results[f"second {n}"] = wrong
                if differs(wrong, right, nan_is_evidence=nan2):
                    c.confirmed = True

    # the table first: a mistake of the table that the second inputs confirm is named, the library is not needed
    table_first = explaining([_Candidate(m.name, "table", table_fn(m), m) for m in table])
    weigh(table_first)
    if any(c.confirmed and not c.refuted for c in table_first):
        return format_table([c.obj for c in table_first if c.confirmed and not c.refuted])
    # otherwise the library, with the table's mistakes that no second input contradicted
    try:
        library = candidates(reference_fn, inputs)
    except Exception:  # noqa: BLE001 - the library cannot be built on this input: the table alone
        library = []
    first = [c for c in table_first if not c.refuted] + explaining(
        [_Candidate(t.name, t.kind, generic_fn(t), t) for t in library])
    if not first:
        return ""
    weigh([c for c in first if c.kind != "table"])  # the table's were weighed already, on the same second inputs
    # several candidates still standing: look for an input that tells them apart (the candidates alone decide
    # where they differ; only there is the student's function called again)
    for n, x3 in enumerate(_extra_inputs(inputs)):
        alive = [c for c in first if not c.refuted]
        if len(alive) < 2:
            break
        try:
            with np.errstate(all="ignore"):
                right = _pick(reference_fn(**x3), index)
        except Exception:  # noqa: BLE001 - the reference refuses this input
            continue
        results: list[Any] = []
        for c in alive:
            try:
                results.append(c.compute(x3))
            except NotApplicable:
                results.append(NotApplicable)
            except Exception:  # noqa: BLE001 - the candidate cannot give a result here
                results.append(None)
        if any(r is NotApplicable for r in results):
            continue  # not an input every candidate applies to: it cannot tell them apart
        for c, r in zip(alive, results):
            if r is not None:
                c.results[f"extra {n}"] = r  # where two differ, they are two explanations, asked or not
        if all(r is not None and same(r, results[0]) for r in results[1:]) and results[0] is not None:
            continue
        try:
            theirs = ask(x3)
        except _NoAnswer:
            continue
        nan3 = _all_finite(x3)
        for c, r in zip(alive, results):
            if r is None or not same(theirs, r):
                c.refuted = True
            elif differs(r, right, nan_is_evidence=nan3):
                c.confirmed = True
    standing = [c for c in first if not c.refuted]
    table_left = [c for c in standing if c.kind == "table"]
    if table_left:
        # no second input confirmed it: named only where every other explanation still standing is the same numbers
        # (the table's words for a transformation of the library), else the inputs cannot tell them apart
        if all(_alike(c, table_left[0]) for c in standing):
            return format_table([c.obj for c in table_left])
        return ""
    generic = [c for c in standing if c.confirmed]
    if not generic:
        return ""
    # every survivor gave the student's numbers on every input tried, and no input found where two of them differ:
    # they are one explanation in several words (e.g. hs_backward reversed = the flip left out), named together
    if not all(_alike(c, generic[0]) for c in generic[1:]):
        return ""
    order = {"result": 0, "input": 1, "site": 2, "composite": 3}  # the simplest of equivalent explanations first
    named = sorted(generic, key=lambda c: order.get(c.kind, 3))
    head, *also = named
    text = f"Hint: your result equals what {head.obj.hint} gives ({head.label})."
    if also:
        text += ("\n  The same numbers, on every input tried, in other words: "
                 + "; ".join(f"{c.obj.hint} ({c.label})" for c in also) + ".")
    which = "only these, one explanation in several words, reproduce" if also else "only this one reproduces"
    return text + (f"\n  (A generic diagnosis: of the transformations of the reference tried, {which} your result, "
                   "on this input and on a second input where it differs from the right result.)")
