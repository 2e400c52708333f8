"""The equation registry: each catalogued equation declared once, in Python (PyTorch's OpInfo, for equations).

The catalogue (``lmverify/catalogue/<topic>.yaml``) says *what* an equation is on the page
(section, line, LaTeX). The registry (``lmverify/registry/<topic>.py``, a tuple ``EQUATIONS``)
says *how to test it*: which inputs to draw, which inputs to pin, which inputs must be
refused and with what message, which student mistakes to recognise, and which generic
checks apply. ``tests/test_equations.py`` turns every entry into the same generic tests:

=====================================  =========================================================
generic test                           runs when the entry declares
=====================================  =========================================================
``test_forms_share_one_signature``      always: SymPy, NumPy and PyTorch forms take the same
                                        parameters, by name, in order, with the same defaults
``test_matches_oracle``                 ``inputs``: every backend against its oracle
                                        (SymPy exact <- NumPy <- PyTorch 64/32, --impl)
``test_pinned_inputs_match_exact``      ``pinned``: extremes (large and tiny magnitudes, ties,
                                        zeros, the page's own numbers) against the exact SymPy value
``test_batched_equals_loop``            ``batch_args``: a batch of inputs equals a loop over it
``test_gradient_matches_sympy``         ``grad``: torch autograd equals SymPy's derivative
``test_error_inputs_are_refused``       ``errors``: each bad input raises the named error
``test_known_mistakes_are_caught``      ``mistakes``: each known student mistake fails the
                                        comparison on the pinned inputs (and its hint is shown
                                        to a student whose result equals it)
=====================================  =========================================================

Hand-written tests (``tests/test_<topic>*.py``) keep only the laws particular to one
equation, written with the ``check`` fixture (:mod:`lmverify.check`).

Inputs are *keyword* dictionaries, keyed by the function's parameter names, so every
message names its inputs and the three forms are called the same way. Input strategies
take ``exact`` (draw values SymPy handles quickly: small dyadic rationals) and, for
entries with ``batch_args``, ``batch`` (the size of a leading batch axis on those
arguments, or ``None``).
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Mapping

from lmverify import catalogue


class RegistryError(ValueError):
    """A registry entry is malformed or disagrees with the catalogue."""


@dataclass(frozen=True)
class Pinned:
    """A fixed input checked against the exact (SymPy) value on every numeric backend."""

    label: str
    kwargs: Mapping[str, Any]
    #: False where the SymPy form cannot evaluate this input quickly (the NumPy value is then the oracle)
    exact: bool = True


@dataclass(frozen=True)
class ErrorInput:
    """A bad input and the error every reference form must raise for it."""

    label: str
    kwargs: Mapping[str, Any]
    error: type[BaseException]
    match: str  # a regular expression the message must match


@dataclass(frozen=True)
class Mistake:
    """A known student mistake, as a NumPy function with the equation's parameters.

    A student's result that equals the mistake's (on the failing input) gets ``hint`` in the
    failure message; ``test_known_mistakes_are_caught`` checks the suite would catch it.
    """

    name: str
    hint: str
    fn: Callable[..., Any]
    #: several mistakes at once (e.g. both of PyTorch's GRU conventions): named after the single ones that
    #: explain the same result
    compound: bool = False


class _OnceEach:
    """A strategy factory that builds its strategy once per argument set (``exact``, ``batch``) and hands out the
    same object after: a test that draws ``entry.inputs(exact=...)`` once per example otherwise made a new
    composite strategy per example, which hypothesis validates and unwraps anew each time (strategies are
    immutable; sharing one draws exactly what a new one would)."""

    def __init__(self, factory: Callable[..., Any]) -> None:
        self.factory = factory
        self._made: dict = {}
        functools.update_wrapper(self, factory)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            key = (args, tuple(sorted(kwargs.items())))
            hash(key)
        except TypeError:
            return self.factory(*args, **kwargs)
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = self.factory(*args, **kwargs)
        return made


@dataclass(frozen=True)
class Equation:
    """One catalogued equation's test declaration (see the module docstring)."""

    id: str
    #: strategy factory: ``inputs(exact=bool)`` (and ``batch=`` with ``batch_args``) -> SearchStrategy[dict]
    inputs: Callable[..., Any] | None = None
    pinned: tuple[Pinned, ...] = ()
    errors: tuple[ErrorInput, ...] = ()
    mistakes: tuple[Mistake, ...] = ()
    #: arguments that may carry a leading batch axis (the result then carries it too)
    batch_args: tuple[str, ...] = ()
    #: arguments w.r.t. which torch autograd is checked against SymPy's derivative, at ``grad_at``
    grad: tuple[str, ...] = ()
    grad_at: Mapping[str, Any] | None = None
    #: first-order bound kappa(**inputs) on the float32 rounding error in units of u = 2^-24
    #: (a function from lmverify/tolerance.py); float32 comparisons then allow atol + 2 u kappa
    kappa: Callable[..., float] | None = None
    #: backends the generic agreement test leaves out, with the reason (e.g. a SymPy form too slow)
    skip: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.inputs is not None and not isinstance(self.inputs, _OnceEach):
            object.__setattr__(self, "inputs", _OnceEach(self.inputs))

    @property
    def topic(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def entry(self) -> dict[str, Any]:
        found = catalogue.find(self.id)
        if found is None:
            raise RegistryError(f"registry entry {self.id!r} is not in the catalogue (lmverify/catalogue/{self.topic}.yaml)")
        return found

    @property
    def function_topic(self) -> str:
        return catalogue.function_of(self.entry)[0]

    @property
    def function_name(self) -> str:
        return catalogue.function_of(self.entry)[1]

    def __repr__(self) -> str:  # short, for hypothesis' "Falsifying example" lines
        return f"Equation({self.id!r})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # hypothesis' pretty-printer
        p.text(repr(self))


def topics() -> tuple[str, ...]:
    """The topics, found from the catalogue files (no hand-kept list)."""
    return catalogue.topics()


@lru_cache(maxsize=None)
def topic_equations(topic: str) -> tuple[Equation, ...]:
    try:
        mod = importlib.import_module(f"lmverify.registry.{topic}")
    except ModuleNotFoundError as exc:
        if exc.name == f"lmverify.registry.{topic}":
            return ()
        raise
    eqs = getattr(mod, "EQUATIONS", None)
    if not isinstance(eqs, tuple) or not all(isinstance(e, Equation) for e in eqs):
        raise RegistryError(f"lmverify/registry/{topic}.py: EQUATIONS must be a tuple of Equation")
    for e in eqs:
        if e.topic != topic:
            raise RegistryError(f"lmverify/registry/{topic}.py: entry {e.id!r} belongs to another topic")
    return eqs


#: functions the tests call under ``--impl`` that implement no catalogued equation of their own (they return
#: the pieces several equations share: every LSTM gate at once, a gradient); ``lmverify starter`` offers them
#: with the topic's equation functions, and tests/test_starter_functions.py checks the tests call no other
HELPERS: dict[str, tuple[str, ...]] = {
    "ngram": ("sequence_conditionals",),
    "recurrent": ("lstm_gates", "gru_gates"),
    "information": ("kl_divergence_gradient", "mutual_information_from_entropies", "conditional_entropy"),
}


@lru_cache(maxsize=None)
def load() -> tuple[Equation, ...]:
    """Every registry entry of every topic, in catalogue order."""
    out: list[Equation] = []
    seen: set[str] = set()
    for topic in topics():
        for e in topic_equations(topic):
            if e.id in seen:
                raise RegistryError(f"duplicate registry entry {e.id!r}")
            seen.add(e.id)
            out.append(e)
    return tuple(out)


def get(equation_id: str) -> Equation | None:
    for e in load():
        if e.id == equation_id:
            return e
    return None


#: generic test -> predicate on the entry (whether it applies); read by the coverage matrix too
TEMPLATES: dict[str, Callable[[Equation], bool]] = {
    "test_forms_share_one_signature": lambda e: True,
    "test_matches_oracle": lambda e: e.inputs is not None,
    "test_pinned_inputs_match_exact": lambda e: bool(e.pinned),
    "test_batched_equals_loop": lambda e: bool(e.batch_args) and e.inputs is not None,
    "test_gradient_matches_sympy": lambda e: bool(e.grad),
    "test_error_inputs_are_refused": lambda e: bool(e.errors),
    "test_known_mistakes_are_caught": lambda e: bool(e.mistakes),
}


def generated_tests(eq: Equation) -> tuple[str, ...]:
    """The generic tests (``tests/test_equations.py::<name>``) that an entry generates."""
    return tuple(f"test_equations.py::{name}[{eq.id}]" for name, applies in TEMPLATES.items() if applies(eq))
