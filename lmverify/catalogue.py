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
:func:`exercised` finds those markers statically (by reading the test files),
so the coverage matrix needs no test run.
"""

from __future__ import annotations

import ast
import importlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

CATALOGUE_DIR = Path(__file__).parent / "catalogue"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
TESTS_DIR = PROJECT_ROOT / "tests"

REQUIRED = {"id": str, "section": str, "line": int, "latex": str, "function": str, "properties": list, "displayed": bool}
FORMS = {"symbolic": "specs.{topic}", "numpy": "reference.numpy.{topic}", "torch": "reference.torch.{topic}"}


class CatalogueError(ValueError):
    pass


def _load_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
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
    out = {}
    for form, pattern in FORMS.items():
        try:
            mod = importlib.import_module(pattern.format(topic=eq["topic"]))
        except ImportError:
            out[form] = False
            continue
        out[form] = callable(getattr(mod, eq["function"], None))
    return out


def _marker_ids(decorator: ast.expr) -> list[str]:
    """Equation ids of a ``pytest.mark.equation("a", "b")`` decorator (or [] if it is another)."""
    if not isinstance(decorator, ast.Call):
        return []
    f = decorator.func
    if isinstance(f, ast.Attribute) and f.attr == "equation":
        return [a.value for a in decorator.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return []


@lru_cache(maxsize=None)
def exercised(tests_dir: Path = TESTS_DIR) -> dict[str, tuple[str, ...]]:
    """Map equation id -> test functions marked with it, read statically from ``tests/test_*.py``."""
    found: dict[str, list[str]] = {}
    for path in sorted(tests_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                for dec in node.decorator_list:
                    for eq_id in _marker_ids(dec):
                        found.setdefault(eq_id, []).append(f"{path.name}::{node.name}")
    return {k: tuple(v) for k, v in found.items()}


def worked_example_equations() -> dict[str, list[str]]:
    """Map equation id -> worked examples that exercise it."""
    from lmverify.worked import load_all_examples

    out: dict[str, list[str]] = {}
    for ex in load_all_examples():
        for eq_id in ex.equations:
            out.setdefault(eq_id, []).append(ex.id)
    return out


def coverage() -> list[dict[str, Any]]:
    """One row per equation: its forms, its tests and its worked examples."""
    tests = exercised()
    examples = worked_example_equations()
    rows = []
    for eq in load():
        f = forms(eq)
        rows.append(
            {
                "id": eq["id"],
                "page": eq["page"],
                "line": eq["line"],
                "displayed": eq["displayed"],
                "function": eq["function"],
                **f,
                "tests": len(tests.get(eq["id"], ())),
                "worked_examples": len(examples.get(eq["id"], [])),
            }
        )
    return rows


def coverage_markdown(rows: list[dict[str, Any]] | None = None) -> str:
    rows = coverage() if rows is None else rows
    tick = lambda b: "yes" if b else "**NO**"  # noqa: E731
    lines = [
        "| equation | page:line | function | symbolic | numpy | torch | tests | worked examples |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| `{r['id']}`{'' if r['displayed'] else ' (derived)'} | {r['page']}:{r['line']} | `{r['function']}` | "
            f"{tick(r['symbolic'])} | {tick(r['numpy'])} | {tick(r['torch'])} | "
            f"{r['tests'] if r['tests'] else '**0**'} | {r['worked_examples']} |"
        )
    complete = sum(1 for r in rows if r["symbolic"] and r["numpy"] and r["torch"] and r["tests"])
    lines.append("")
    lines.append(f"{complete} / {len(rows)} equations have all three forms and at least one test.")
    return "\n".join(lines)
