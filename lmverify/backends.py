"""Backends: one function name, four implementations (and a student's).

========  ==============================  ===========  ======================
name      module                          dtype        compared against
========  ==============================  ===========  ======================
sympy     ``specs.<topic>``               exact        numpy (and proofs)
numpy     ``reference.numpy.<topic>``     float64      sympy (exact)
torch64   ``reference.torch.<topic>``     float64      numpy
torch32   ``reference.torch.<topic>``     float32      numpy
impl      the ``--impl`` module           as given     numpy
========  ==============================  ===========  ======================

A test asks its backend for a function by topic and name
(``backend.fn("attention", "softmax")``) or calls it with automatic
conversion of array arguments (``backend.call(...)``). For ``impl`` a missing
function, or one that raises ``NotImplementedError``, skips the test with a
message saying what to implement; a function whose signature does not accept
the reference's parameters fails with the file and function named.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import unittest
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lmverify import convert
from lmverify.tolerance import Tolerance, tolerance_for

from lmverify.catalogue import topics

#: the topics, one per catalogue file (``lmverify/catalogue/<topic>.yaml``)
TOPICS = topics()

MODULE_OF = {
    "sympy": "specs.{topic}",
    "numpy": "reference.numpy.{topic}",
    "torch64": "reference.torch.{topic}",
    "torch32": "reference.torch.{topic}",
}

BACKEND_NAMES = ("sympy", "numpy", "torch64", "torch32")


class WrongReturn(TypeError):
    """A student's function returned something that is not an array, a number or a tuple of them."""


class ImplError(Exception):
    """The --impl module cannot be used (import error, wrong signature...)."""


try:  # a pytest outcome: hypothesis does not shrink or replay it, pytest prints the message alone
    from _pytest.outcomes import Failed as _FailOutcome
except ImportError:  # pragma: no cover - outside pytest (the report) no student code runs
    _FailOutcome = AssertionError  # type: ignore[assignment,misc]


class ImplFailure(_FailOutcome):
    """The student's module cannot be used for this test (import error, wrong signature, time limit): a
    failure whose message names the file and function, reported without a traceback into the harness."""

    def __init__(self, msg: str) -> None:
        if _FailOutcome is AssertionError:
            super().__init__(msg)
        else:
            super().__init__(msg, pytrace=False)

    def __str__(self) -> str:
        return str(self.msg) if hasattr(self, "msg") else super().__str__()


class SkipImpl(unittest.SkipTest):
    """The --impl module does not implement this function (yet).

    A ``unittest.SkipTest``: pytest reports it as a skip, and hypothesis re-raises
    it at once instead of shrinking it as a failure.
    """


@dataclass
class StudentModule:
    """A student's module named by ``--impl`` (a .py path or a dotted module name)."""

    spec: str
    array_api: str = "numpy"  # what the student's functions receive: 'numpy' or 'torch'

    @property
    def module(self) -> Any:
        """The imported module. An import failure is reported (as ImplError) the first time only;
        later tests skip, pointing at that report, instead of importing the module again."""
        if "_module" not in self.__dict__:
            try:
                self.__dict__["_module"] = load_student_module(self.spec)
            except ImplError as exc:
                self.__dict__["_module"] = exc
                raise
        mod = self.__dict__["_module"]
        if isinstance(mod, ImplError):
            raise SkipImpl(f"{self.spec} failed to import (reported once, in the first test that used it): {mod}")
        return mod

    @property
    def label(self) -> str:
        return f"impl ({self.spec})"


def load_student_module(spec: str) -> Any:
    path = Path(spec)
    if spec.endswith(".py") or path.exists():
        if not path.is_file():
            raise ImplError(f"--impl {spec!r}: no such file")
        name = f"lmverify_student_{abs(hash(str(path.resolve())))}"
        mod_spec = importlib.util.spec_from_file_location(name, path)
        if mod_spec is None or mod_spec.loader is None:
            raise ImplError(f"--impl {spec!r}: not a Python module")
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[name] = module
        try:
            mod_spec.loader.exec_module(module)
        except SystemExit as exc:
            raise ImplError(f"--impl {spec!r}: importing {path} called sys.exit({exc.code!r}); a module must not "
                            "exit when it is imported (put script code under `if __name__ == '__main__':`)") from None
        except Exception as exc:  # noqa: BLE001 - any import failure is the student's to see
            raise ImplError(f"--impl {spec!r}: importing {path} failed: {type(exc).__name__}: {exc}") from exc
        return module
    try:
        return importlib.import_module(spec)
    except Exception as exc:  # noqa: BLE001
        raise ImplError(f"--impl {spec!r}: importing module {spec!r} failed: {type(exc).__name__}: {exc}") from exc


def _check_signature(student_fn: Callable, reference_fn: Callable, where: str) -> None:
    """The student's function must accept every parameter the reference declares, by the same names."""
    try:
        s_sig = inspect.signature(student_fn)
    except (TypeError, ValueError):
        return
    r_sig = inspect.signature(reference_fn)
    s_params = s_sig.parameters
    if any(p.kind is p.VAR_KEYWORD for p in s_params.values()):
        has_var_kw = True
    else:
        has_var_kw = False
    problems = []
    r_positional = [p for p in r_sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    s_positional = [p for p in s_params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    has_var_pos = any(p.kind is p.VAR_POSITIONAL for p in s_params.values())
    required_r = [p for p in r_positional if p.default is p.empty]
    if not has_var_pos and len(s_positional) < len(required_r):
        problems.append(f"takes {len(s_positional)} positional parameters, expected at least {len(required_r)}")
    for p in r_sig.parameters.values():
        if p.default is not p.empty and p.name not in s_params and not has_var_kw:
            problems.append(f"has no parameter {p.name!r}")
    for p in s_params.values():
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in r_sig.parameters:
            if p.kind is p.KEYWORD_ONLY or s_positional.index(p) >= len(r_positional):
                problems.append(f"requires parameter {p.name!r} that the reference does not pass")
    if problems:
        raise ImplError(
            f"{where}: signature {s_sig} does not match the reference {reference_fn.__name__}{r_sig}: "
            + "; ".join(problems)
        )


@dataclass
class Students:
    """The ``--impl`` modules: one for every topic, and/or one per topic (``--impl recurrent=my_lstm.py``)."""

    by_topic: dict[str | None, StudentModule]

    @classmethod
    def parse(cls, values: list[str] | str, array_api: str = "numpy") -> "Students":
        if isinstance(values, str):
            values = [values]
        by_topic: dict[str | None, StudentModule] = {}
        for v in values:
            topic, sep, spec = v.partition("=")
            if not sep:
                topic, spec = None, v
            elif topic not in TOPICS:
                raise ImplError(f"--impl {v!r}: unknown topic {topic!r}; expected one of {', '.join(TOPICS)} "
                                f"(or a path alone for every topic)")
            if not spec:
                raise ImplError(f"--impl {v!r}: no module given after '='")
            if topic in by_topic:
                which = f"topic {topic!r}" if topic else "every topic"
                raise ImplError(f"--impl {v!r}: {which} already has a module ({by_topic[topic].spec})")
            by_topic[topic] = StudentModule(spec, array_api)
        return cls(by_topic)

    def for_topic(self, topic: str) -> StudentModule | None:
        return self.by_topic.get(topic) or self.by_topic.get(None)

    @property
    def label(self) -> str:
        specs = [m.spec if t is None else f"{t}={m.spec}" for t, m in self.by_topic.items()]
        return f"impl ({', '.join(specs)})"

    @property
    def array_api(self) -> str:
        return next(iter(self.by_topic.values())).array_api


#: seconds one call of a student's function may take (the suite's inputs are small: a correct function
#: answers in milliseconds; an infinite loop is stopped and named instead of hanging pytest)
IMPL_CALL_SECONDS = 10.0


#: (module spec, function) pairs that ran past the limit once: not called again in this run
_TIMED_OUT: set[tuple[str, ...]] = set()


def _impl_seconds() -> float:
    return IMPL_CALL_SECONDS


def _raise_timeout(what: str, seconds: float) -> None:
    """One place (and one message) for a call past the limit, the first time and when it is not called
    again: hypothesis, replaying the failing input, then sees the same failure, not a flaky one."""
    raise ImplFailure(f"{what} ran past the time limit of {seconds:g} s per call (an infinite loop, or a loop "
                      "far slower than the equation needs); in this run it is not called again")


class _time_limit:
    """Stop a call after ``seconds`` with :class:`ImplFailure` naming it (SIGALRM: main thread, POSIX)."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds, self.what = seconds, what
        self.active = False

    def _fire(self, signum, frame):  # noqa: ANN001
        _TIMED_OUT.add(tuple(self.what.split(": ", 1)))
        _raise_timeout(self.what, self.seconds)

    def __enter__(self):
        import signal
        import threading

        if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread() \
                and signal.getitimer(signal.ITIMER_REAL)[0] == 0:
            self.previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
            self.active = True
        return self

    def __exit__(self, *exc):
        if self.active:
            import signal

            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
        return False


class Backend:
    """One implementation of every topic's functions (see the module docstring)."""

    def __init__(self, name: str, student: StudentModule | None = None, students: Students | None = None) -> None:
        if name not in BACKEND_NAMES + ("impl",):
            raise ValueError(f"unknown backend {name!r}; expected one of {BACKEND_NAMES + ('impl',)}")
        if student is not None:
            students = Students({None: student})
        if name == "impl" and students is None:
            raise ValueError("the impl backend needs the student module (--impl PATH)")
        self.name = name
        self.students = students
        self.student = student if student is not None else (
            next(iter(students.by_topic.values())) if students else None)
        self._cache: dict = {}

    def __repr__(self) -> str:  # shown in hypothesis' "Failing test case" lines
        return f"Backend({self.label!r})"

    # -- identity -------------------------------------------------------------
    @property
    def dtype(self) -> str:
        return {"sympy": "exact", "numpy": "float64", "torch64": "float64", "torch32": "float32"}.get(
            self.name, "float32" if self.name == "impl" else "float64"
        )

    @property
    def exact(self) -> bool:
        return self.name == "sympy"

    @property
    def is_torch(self) -> bool:
        return self.name in ("torch64", "torch32") or (
            self.name == "impl" and self.students is not None and self.students.array_api == "torch"
        )

    @property
    def label(self) -> str:
        return self.students.label if self.name == "impl" and self.students else self.name

    @property
    def oracle(self) -> str:
        """The backend whose results this one is checked against."""
        return "sympy" if self.name == "numpy" else "numpy"

    def tolerance(self, equation: str | None = None) -> Tolerance:
        """Tolerance for this backend's results against its oracle.

        Student code is held to float32 tolerances: it may compute in float32,
        and the mistakes that matter (a missing scale, a mask after softmax)
        are orders of magnitude larger.
        """
        return tolerance_for("float64" if self.dtype == "exact" else self.dtype, equation)

    # -- functions ------------------------------------------------------------
    def _student_for(self, topic: str) -> StudentModule:
        assert self.students is not None
        student = self.students.for_topic(topic)
        if student is None:
            raise SkipImpl(f"no --impl module for the {topic} topic (given: {self.students.label}); "
                           f"pass --impl {topic}=path/to/your_{topic}.py to test it")
        return student

    def module(self, topic: str) -> Any:
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}; expected one of {TOPICS}")
        if self.name == "impl":
            return self._student_for(topic).module
        return importlib.import_module(MODULE_OF[self.name].format(topic=topic))

    def fn(self, topic: str, name: str) -> Callable:
        key = (topic, name)
        if key in self._cache:
            return self._cache[key]
        if self.name != "impl":
            mod = self.module(topic)
            f = getattr(mod, name, None)
            if f is None:
                raise AttributeError(f"{mod.__name__} has no function {name!r} (the catalogue expects one)")
            self._cache[key] = f
            return f
        student = self._student_for(topic)
        try:
            mod = student.module
        except ImplError as exc:
            raise ImplFailure(str(exc)) from None
        reference = getattr(importlib.import_module(MODULE_OF["numpy"].format(topic=topic)), name)
        f = getattr(mod, name, None)
        if f is None:
            raise SkipImpl(
                f"{student.spec} does not define {name}{inspect.signature(reference)}; "
                f"implement it to run this test ({(reference.__doc__ or '').strip().splitlines()[0] if reference.__doc__ else ''})"
            )
        if not callable(f):
            raise ImplFailure(f"{student.spec}: {name} is not a function (it is {type(f).__name__})")
        try:
            _check_signature(f, reference, f"{student.spec}: function {name}")
        except ImplError as exc:
            raise ImplFailure(str(exc)) from None

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if (student.spec, name) in _TIMED_OUT:
                _raise_timeout(f"{student.spec}: {name}", _impl_seconds())
            try:
                with _time_limit(_impl_seconds(), f"{student.spec}: {name}"):
                    return f(*args, **kwargs)
            except NotImplementedError as exc:
                raise SkipImpl(f"{student.spec}: {name} raises NotImplementedError ({exc}); implement it") from exc
            except SystemExit as exc:
                raise ImplFailure(f"{student.spec}: {name} called sys.exit({exc.code!r}) instead of returning") from None

        wrapped.__name__ = name
        self._cache[key] = wrapped
        return wrapped

    # -- values ---------------------------------------------------------------
    def array(self, x: Any) -> Any:
        """Convert a NumPy input to what this backend's functions take."""
        if self.name == "sympy":
            return convert.to_sympy(x)
        if self.is_torch:
            return convert.to_torch(x, "float32" if self.name == "torch32" else "float64")
        return convert.to_numpy_input(x)

    def scalar(self, x: Any) -> Any:
        if isinstance(x, (bool, int, np.integer)) or x is None:
            return x
        if self.name == "sympy":
            return convert.to_sympy(float(x))
        return float(x)

    def to_numpy(self, y: Any) -> Any:
        return convert.to_numpy(y)

    def convert_arg(self, a: Any) -> Any:
        if isinstance(a, np.ndarray):
            return self.array(a)
        if isinstance(a, (float, np.floating)):
            return self.scalar(a)
        return a

    def call(self, topic: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``name`` with NumPy arrays/floats converted to this backend; result as NumPy."""
        __tracebackhide__ = True
        f = self.fn(topic, name)
        out = f(*[self.convert_arg(a) for a in args], **{k: self.convert_arg(v) for k, v in kwargs.items()})
        try:
            return self.to_numpy(out)
        except TypeError as exc:
            if self.name != "impl":
                raise
            raise WrongReturn(f"your {name} returned {type(out).__name__} ({exc}); expected what the reference "
                              "returns: a NumPy array or a number (or a tuple of them)") from None


    # -- native values: backend-neutral recipes (exact end to end on SymPy) -------------------
    def run(self, topic: str, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``name`` and return the backend's *native* result (SymPy stays exact; no float64 round trip).

        Arguments may be NumPy values (converted) or native values from earlier ``run`` calls.
        Recipes chain ``run`` and the elementwise helpers below, and convert once at the end.
        """
        __tracebackhide__ = True
        f = self.fn(topic, name)
        return f(*[self.convert_arg(a) for a in args], **{k: self.convert_arg(v) for k, v in kwargs.items()})

    def const(self, x: Any) -> Any:
        """A number or array as a native value (exact Rational on SymPy: 0.1 becomes 1/10 only if given as a string)."""
        if self.exact and isinstance(x, str):
            import sympy as sp

            return sp.Rational(x)
        if isinstance(x, (int, np.integer)) and not self.exact:
            return float(x)
        if isinstance(x, (int, float, np.integer, np.floating)):
            return self.scalar(float(x)) if not self.exact else convert.to_sympy(x)
        return self.array(np.asarray(x, dtype=np.float64))

    def row(self, x: Any, i: int) -> Any:
        """Row ``i`` of a native 2-D value as a 1-D native value (a SymPy Matrix row becomes a 1-D Array)."""
        if self.exact:
            import sympy as sp

            return sp.ImmutableDenseNDimArray(list(x.row(i)))
        return x[i]

    def _elementwise(self, x: Any, np_f: Callable, torch_name: str, sp_name: str) -> Any:
        if self.exact:
            import sympy as sp

            f = getattr(sp, sp_name)
            if isinstance(x, (sp.MatrixBase, sp.NDimArray)):
                return x.applyfunc(f)
            return f(sp.sympify(x))
        if self.is_torch:
            import torch

            t = x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=torch.float32 if self.name == "torch32" else torch.float64)
            return getattr(torch, torch_name)(t)
        return np_f(x)

    def exp(self, x: Any) -> Any:
        return self._elementwise(x, np.exp, "exp", "exp")

    def log(self, x: Any) -> Any:
        return self._elementwise(x, np.log, "log", "log")

    def sqrt(self, x: Any) -> Any:
        return self._elementwise(x, np.sqrt, "sqrt", "sqrt")

    def tanh(self, x: Any) -> Any:
        return self._elementwise(x, np.tanh, "tanh", "tanh")

    def sigmoid(self, x: Any) -> Any:
        if self.exact:
            import sympy as sp

            f = lambda v: 1 / (1 + sp.exp(-v))  # noqa: E731
            return x.applyfunc(f) if isinstance(x, (sp.MatrixBase, sp.NDimArray)) else f(sp.sympify(x))
        if self.is_torch:
            import torch

            return torch.sigmoid(x if isinstance(x, torch.Tensor) else torch.as_tensor(x, dtype=torch.float64))
        return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def reference_backend(name: str) -> Backend:
    if name not in BACKEND_NAMES:
        raise ValueError(f"unknown backend {name!r}; expected one of {BACKEND_NAMES}")
    return Backend(name)
