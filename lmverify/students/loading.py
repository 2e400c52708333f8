"""Loading a student's module (``--impl``), the errors that name what is wrong with it, and its signature check.

:class:`StudentModule` is one ``--impl`` module with what travels with it: the array type its functions
take, the time limit per call and the memory it may use. Its functions run in a process of their own
(:mod:`lmverify.students.isolation`); :func:`load_student_module` is the import itself, which runs in that
process (and, for trusted in-process uses such as :attr:`StudentModule.module`, in the caller's).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import math
import sys
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from lmverify.catalogue import topics

#: seconds one call of a student's function may take by default (the suite's inputs are small: a correct function
#: answers in milliseconds; an infinite loop is stopped and named instead of hanging pytest)
DEFAULT_CALL_SECONDS = 10.0

#: MiB of address space a student's process may add to what it starts with (torch and NumPy already mapped)
DEFAULT_MEMORY_MIB = 2048


class WrongReturn(TypeError):
    """A student's function returned something that is not an array, a number or a tuple of them."""


class ImplError(Exception):
    """The --impl module cannot be used (import error, wrong signature...)."""


try:  # a pytest outcome: hypothesis does not shrink or replay it, pytest prints the message alone
    from _pytest.outcomes import Failed as _FailOutcome
except ImportError:  # pragma: no cover - outside pytest (the report) no student code runs
    _FailOutcome = AssertionError  # type: ignore[assignment,misc]


class ImplFailure(_FailOutcome):
    """The student's module cannot be used for this test (import error, wrong signature, time limit, its process
    ended): a failure whose message names the file and function, reported without a traceback into the harness."""

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


class NotCovered(SkipImpl):
    """The student's code declined this input (``raise lmverify.students.NotSupported(...)``, a returned
    ``NotImplemented``, or an input its declared conventions cannot express). Under hypothesis the example is
    counted as "not covered" and the test goes on (see the pytest plugin); a test with one input reports it
    as a skip that says "not covered"."""


def check_limits(call_seconds: float, memory_mib: float | None = None) -> None:
    """The per-call time limit must be a positive, finite number of seconds (and the memory a positive MiB)."""
    if not isinstance(call_seconds, (int, float)) or not math.isfinite(call_seconds) or call_seconds <= 0:
        raise ImplError(f"--impl-timeout {call_seconds!r}: expected a positive, finite number of seconds per call "
                        f"(default {DEFAULT_CALL_SECONDS:g})")
    if memory_mib is not None and (not isinstance(memory_mib, (int, float)) or not math.isfinite(memory_mib)
                                   or memory_mib <= 0):
        raise ImplError(f"--impl-memory {memory_mib!r}: expected a positive number of MiB "
                        f"(default {DEFAULT_MEMORY_MIB})")


@dataclass
class StudentModule:
    """A student's module named by ``--impl`` (a .py path or a dotted module name), with its limits."""

    spec: str
    array_api: str = "numpy"  # what the student's functions receive: 'numpy' or 'torch'
    call_seconds: float = DEFAULT_CALL_SECONDS
    memory_mib: float = DEFAULT_MEMORY_MIB
    #: run its functions in a process of their own (always for ``--impl`` and ``grade``); False only for the
    #: suite's own, trusted modules where speed matters (``lmverify.students_check`` on tests/data/students/)
    isolated: bool = True
    _process: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_limits(self.call_seconds, self.memory_mib)

    @property
    def process(self) -> Any:
        """The student's process (:class:`lmverify.students.isolation.StudentProcess`), started on first use."""
        if self._process is None:
            from lmverify.students.isolation import StudentProcess

            self._process = StudentProcess(self)
        return self._process

    def close(self) -> None:
        if self._process is not None:
            self._process.close()

    @property
    def module(self) -> Any:
        """The module imported *in this process* (trusted, in-process uses only: the suite's tests of itself).
        An import failure is reported (as ImplError) the first time only; later uses skip, pointing at that
        report, instead of importing the module again."""
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


def load_student_module(spec: str, label: str | None = None) -> Any:
    """Import the student's module (a ``.py`` path, or a dotted name on ``sys.path``); ImplError names a failure
    (as ``--impl LABEL``: the spec as the student gave it, where ``spec`` is its resolved path)."""
    path = Path(spec)
    shown = spec if label is None else label
    if spec.endswith(".py") or path.exists():
        if not path.is_file():
            raise ImplError(f"--impl {shown!r}: no such file")
        name = f"lmverify_student_{abs(hash(str(path.resolve())))}"
        mod_spec = importlib.util.spec_from_file_location(name, path)
        if mod_spec is None or mod_spec.loader is None:
            raise ImplError(f"--impl {shown!r}: not a Python module")
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[name] = module
        try:
            mod_spec.loader.exec_module(module)
        except SystemExit as exc:
            raise ImplError(f"--impl {shown!r}: importing {path} called sys.exit({exc.code!r}); a module must not "
                            "exit when it is imported (put script code under `if __name__ == '__main__':`)") from None
        except Exception as exc:  # noqa: BLE001 - any import failure is the student's to see
            raise ImplError(f"--impl {shown!r}: importing {path} failed: {type(exc).__name__}: {exc}") from exc
        return module
    try:
        return importlib.import_module(spec)
    except SystemExit as exc:
        raise ImplError(f"--impl {shown!r}: importing module {spec!r} called sys.exit({exc.code!r}); a module must "
                        "not exit when it is imported") from None
    except Exception as exc:  # noqa: BLE001
        raise ImplError(f"--impl {shown!r}: importing module {spec!r} failed: {type(exc).__name__}: {exc}") from exc


def check_signature(student: Callable | inspect.Signature, reference_fn: Callable, where: str) -> None:
    """The student's function (or its signature, as the student's process described it) must accept every
    parameter the reference declares, by the same names."""
    if isinstance(student, inspect.Signature):
        s_sig = student
    else:
        try:
            s_sig = inspect.signature(student)
        except (TypeError, ValueError):
            return
    r_sig = inspect.signature(reference_fn)
    s_params = s_sig.parameters
    has_var_kw = any(p.kind is p.VAR_KEYWORD for p in s_params.values())
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


def signature_data(fn: Callable) -> list[tuple[str, int, bool]] | None:
    """A function's parameters as plain data (name, kind, has a default), or None where Python cannot say."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return [(str(p.name), int(p.kind), p.default is not p.empty) for p in sig.parameters.values()]


_NO_DEFAULT = inspect.Parameter.empty


class _Default:
    def __repr__(self) -> str:
        return "..."


def signature_from_data(data: Any) -> inspect.Signature | None:
    """The signature that :func:`signature_data` described (checked: names, kinds and order must be valid)."""
    if data is None:
        return None
    if type(data) is not list or len(data) > 256:
        raise ValueError("a malformed signature")
    params = []
    for item in data:
        if type(item) is not tuple or len(item) != 3:
            raise ValueError("a malformed signature")
        name, kind, has_default = item
        if type(name) is not str or type(kind) is not int or type(has_default) is not bool:
            raise ValueError("a malformed signature")
        params.append(inspect.Parameter(name, inspect._ParameterKind(kind),
                                        default=_Default() if has_default else _NO_DEFAULT))
    return inspect.Signature(params)


@dataclass
class Students:
    """The ``--impl`` modules: one for every topic, and/or one per topic (``--impl recurrent=my_lstm.py``)."""

    by_topic: dict[str | None, StudentModule]

    @classmethod
    def parse(cls, values: list[str] | str, array_api: str = "numpy", call_seconds: float = DEFAULT_CALL_SECONDS,
              memory_mib: float = DEFAULT_MEMORY_MIB) -> "Students":
        if isinstance(values, str):
            values = [values]
        check_limits(call_seconds, memory_mib)
        known = topics()
        by_topic: dict[str | None, StudentModule] = {}
        for v in values:
            topic, sep, spec = v.partition("=")
            if not sep:
                topic, spec = None, v
            elif topic not in known:
                raise ImplError(f"--impl {v!r}: unknown topic {topic!r}; expected one of {', '.join(known)} "
                                f"(or a path alone for every topic)")
            if not spec:
                raise ImplError(f"--impl {v!r}: no module given after '='")
            if topic in by_topic:
                which = f"topic {topic!r}" if topic else "every topic"
                raise ImplError(f"--impl {v!r}: {which} already has a module ({by_topic[topic].spec})")
            by_topic[topic] = StudentModule(spec, array_api, call_seconds, memory_mib)
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

    def close(self) -> None:
        for m in self.by_topic.values():
            m.close()
