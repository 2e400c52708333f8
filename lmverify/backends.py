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

The student's functions run in a process of their own (:mod:`lmverify.students.isolation`): ``fn`` returns
a proxy that sends the arguments there and brings the result back as data, so nothing the student's code does
reaches this process's objects (NumPy, the references, the comparison, the caller's frames).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, Callable

import numpy as np

from lmverify import convert
from lmverify.tolerance import Tolerance, tolerance_for

from lmverify.catalogue import FORMS, topics

#: the topics, one per catalogue file (``lmverify/catalogue/<topic>.yaml``)
TOPICS = topics()

#: each backend's module pattern, from the catalogue's one table of where the three forms live
MODULE_OF = {"sympy": FORMS["symbolic"], "numpy": FORMS["numpy"], "torch64": FORMS["torch"], "torch32": FORMS["torch"]}

BACKEND_NAMES = ("sympy", "numpy", "torch64", "torch32")


# the student's module: loading, limits and errors live in lmverify.students (re-exported here for the tests
# and the modules that import them from this one); its functions run in a process of their own
from lmverify.students.loading import (  # noqa: E402,F401
    DEFAULT_CALL_SECONDS,
    ImplError,
    ImplFailure,
    NotCovered,
    SkipImpl,
    StudentModule,
    Students,
    WrongReturn,
    check_signature as _check_signature,
    load_student_module,
)


class _InProcess:
    """The calls of a trusted module imported into this process, with the isolated proxy's outcomes."""

    def __init__(self, spec: str, module: Any) -> None:
        self.spec, self.module = spec, module
        self.plans: dict = {}

    def call(self, name: str, args: tuple, kwargs: dict, topic: str | None = None) -> Any:
        __tracebackhide__ = True
        from lmverify.students import conventions, isolation

        isolation.count_call(name)
        try:
            return conventions.run(self.module, topic, name, args, kwargs, self.plans, isolation._invoke_checked)
        except conventions.InputChanged as exc:
            raise ImplFailure(f"{self.spec}: {name} changed its input {', '.join(f'`{n}`' for n in exc.names)} "
                              "in place") from None
        except conventions.NotSupported as exc:
            isolation.DECLINED.append(f"{self.spec}: {name} declined an input ({exc})")
            raise NotCovered(f"not covered: {isolation.DECLINED[-1]}") from None
        except conventions.ConventionError as exc:
            raise ImplFailure(f"{self.spec}: {exc}") from None
        except NotImplementedError as exc:
            raise SkipImpl(f"{self.spec}: {name} raises NotImplementedError ({exc}); implement it") from exc
        except SystemExit as exc:
            raise ImplFailure(f"{self.spec}: {name} called sys.exit({exc.code!r}) instead of returning") from None


class Backend:
    """One implementation of every topic's functions (see the module docstring)."""

    def __init__(self, name: str, student: StudentModule | None = None, students: Students | None = None,
                 *, memo: bool = False) -> None:
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
        #: SymPy only: results of plain inputs kept on disk between runs (lmverify/exact_memo.py), for inputs
        #: that recur run after run (the registry's pinned inputs)
        self.memo = memo and name == "sympy"

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
        if self.name == "impl":  # the student's module imported in this process: trusted uses only
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
        if student.isolated:
            proc = student.process
            try:
                defined, is_callable, type_name, signature = proc.describe(name, topic)
            except ImplError as exc:
                raise ImplFailure(str(exc)) from None
        else:  # a trusted module of the suite's own, imported into this process (see StudentModule.isolated)
            from lmverify.students import conventions

            try:
                module = student.module
            except ImplError as exc:
                raise ImplFailure(str(exc)) from None
            proc = student.__dict__.setdefault("_in_process", _InProcess(student.spec, module))
            try:
                defined, is_callable, type_name, is_declared = conventions.describe(module, topic, name, proc.plans)
            except conventions.ConventionError as exc:
                raise ImplFailure(f"{student.spec}: {exc}") from None
            f = None if is_declared else getattr(module, name, None)
            signature = None
            if callable(f):
                try:
                    signature = inspect.signature(f)
                except (TypeError, ValueError):
                    signature = None
        reference = getattr(importlib.import_module(MODULE_OF["numpy"].format(topic=topic)), name)
        if not defined:
            raise SkipImpl(
                f"{student.spec} does not define {name}{inspect.signature(reference)}; "
                f"implement it to run this test ({(reference.__doc__ or '').strip().splitlines()[0] if reference.__doc__ else ''})"
            )
        if not is_callable:
            raise ImplFailure(f"{student.spec}: {name} is not a function (it is {type_name})")
        if signature is not None:
            try:
                _check_signature(signature, reference, f"{student.spec}: function {name}")
            except ImplError as exc:
                raise ImplFailure(str(exc)) from None

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            return proc.call(name, args, kwargs, topic)

        wrapped.__name__ = name
        self._cache[key] = wrapped
        return wrapped

    # -- values ---------------------------------------------------------------
    def array(self, x: Any) -> Any:
        """Convert a NumPy input to what this backend's functions take."""
        if self.name == "sympy":
            return convert.to_sympy(x)
        if self.is_torch:  # a student's torch code gets integer ids as integer tensors (the references, floats)
            return convert.to_torch(x, "float32" if self.name == "torch32" else "float64",
                                    keep_integers=self.name == "impl")
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
        if self.memo:
            from lmverify import exact_memo

            return exact_memo.computed(topic, name, args, kwargs, lambda: self._call(topic, name, args, kwargs))
        return self._call(topic, name, args, kwargs)

    def _call(self, topic: str, name: str, args: tuple, kwargs: dict) -> Any:
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
