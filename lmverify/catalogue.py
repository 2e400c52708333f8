"""The equation catalogue: every equation of the course, machine-readable.

One YAML file per topic in ``lmverify/catalogue/<topic>.yaml``::

    topic: attention
    page: attention_math.md
    equations:
      - id: attention.scaled_dot_product      # <topic>.<name>, unique
        section: Scaled Dot-Product Attention # the page's section heading
        line: 47                              # line of the display in the page
        displayed: true                       # a displayed equation of the page (false: derived/deep dive)
        latex: '...'                          # as printed (checked against the page with --course)
        function: scaled_dot_product_attention  # same name in specs / reference.numpy / reference.torch
        properties: [ ... ]                   # what the tests establish, in words

Tests declare which equation they exercise with ``@pytest.mark.equation(id)``;
:func:`lmverify.coverage.exercised` finds those markers statically (by reading the test files),
so the coverage matrix needs no test run.
"""

from __future__ import annotations

import ast
import importlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from lmverify import safeyaml

CATALOGUE_DIR = Path(__file__).parent / "catalogue"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = PROJECT_ROOT / "tests"

REQUIRED = {"id": str, "section": str, "line": int, "latex": str, "function": str, "properties": list, "displayed": bool}
FORMS = {"symbolic": "specs.{topic}", "numpy": "reference.numpy.{topic}", "torch": "reference.torch.{topic}"}


def form_module(form: str, topic: str) -> Any:
    """The module of one of an equation's three forms (``FORMS``: the one table of where the forms live)."""
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}; expected one of {', '.join(FORMS)}")
    return importlib.import_module(FORMS[form].format(topic=topic))


def form_function(form: str, topic: str, name: str) -> Any:
    """``name`` in the module of ``form`` for ``topic`` (e.g. the NumPy reference of an equation's function)."""
    return getattr(form_module(form, topic), name)


class CatalogueError(ValueError):
    pass


def _load_file(path: Path) -> dict[str, Any]:
    try:
        # libyaml's parser where PyYAML has it, strict keys, alias and depth limits (lmverify/safeyaml.py)
        data = safeyaml.load(path.read_text(encoding="utf-8"), path)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogueError(f"{path}: expected a mapping with keys topic, page, equations")
    for key in ("topic", "page", "equations"):
        if key not in data:
            raise CatalogueError(f"{path}: missing top-level key {key!r}")
    if data["topic"] != path.stem:
        raise CatalogueError(f"{path}: topic {data['topic']!r} does not match the file name {path.stem!r}")
    if not isinstance(data["equations"], list) or not data["equations"]:
        raise CatalogueError(f"{path}: 'equations' must be a non-empty list")
    for i, eq in enumerate(data["equations"]):
        where = f"{path}: equations[{i}]"
        if not isinstance(eq, dict):
            raise CatalogueError(f"{where}: expected a mapping")
        for key, typ in REQUIRED.items():
            if key not in eq:
                raise CatalogueError(f"{where} ({eq.get('id', '?')}): missing key {key!r}")
            if not isinstance(eq[key], typ):
                raise CatalogueError(
                    f"{where} ({eq.get('id', '?')}): key {key!r} must be {typ.__name__}, got {type(eq[key]).__name__}"
                )
        if not eq["id"].startswith(data["topic"] + "."):
            raise CatalogueError(f"{where}: id {eq['id']!r} must start with {data['topic'] + '.'!r}")
        unknown = set(eq) - set(REQUIRED)
        if unknown:
            raise CatalogueError(f"{where} ({eq['id']}): unknown keys {sorted(unknown)}")
        eq["topic"] = data["topic"]
        eq["page"] = data["page"]
    return data


@lru_cache(maxsize=None)
def load() -> tuple[dict[str, Any], ...]:
    """All equations of all topics, in catalogue order."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for path in sorted(CATALOGUE_DIR.glob("*.yaml")):
        for eq in _load_file(path)["equations"]:
            if eq["id"] in seen:
                raise CatalogueError(f"{path}: duplicate equation id {eq['id']!r}")
            seen.add(eq["id"])
            out.append(eq)
    return tuple(out)


def find(equation_id: str) -> dict[str, Any] | None:
    for eq in load():
        if eq["id"] == equation_id:
            return eq
    return None


def forms(eq: dict[str, Any]) -> dict[str, bool]:
    """Which of the three forms define the equation's function."""
    topic, name = function_of(eq)
    out = {}
    for form, pattern in FORMS.items():
        try:
            mod = importlib.import_module(pattern.format(topic=topic))
        except ImportError:
            out[form] = False
            continue
        out[form] = callable(getattr(mod, name, None))
    return out


def function_of(eq: dict[str, Any]) -> tuple[str, str]:
    """(topic, function name) of an entry; ``function: attention.additive_score`` names another topic's."""
    fn = eq["function"]
    if "." in fn:
        topic, name = fn.split(".", 1)
        return topic, name
    return eq["topic"], fn


def topics() -> tuple[str, ...]:
    """The topics: one per catalogue file (``lmverify/catalogue/<topic>.yaml``), in a stable order."""
    return tuple(sorted(p.stem for p in CATALOGUE_DIR.glob("*.yaml")))


def _marker_ids(decorator: ast.expr, where: str) -> list[str]:
    """Equation ids of a ``pytest.mark.equation("a", "b")`` decorator (or [] if it is another).

    Ids must be string literals: coverage is read statically, and a constant or an expression
    would be silently invisible, so it is an error naming the file and line.
    """
    if not isinstance(decorator, ast.Call):
        return []
    f = decorator.func
    if isinstance(f, ast.Attribute) and f.attr == "equation":
        ids = []
        for a in decorator.args:
            if isinstance(a, ast.Constant) and isinstance(a.value, str):
                ids.append(a.value)
            else:
                raise CatalogueError(
                    f"{where}: @pytest.mark.equation takes string literals (coverage is read statically); "
                    f"got {ast.unparse(a)!r}"
                )
        return ids
    return []


