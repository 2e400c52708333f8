"""The coverage matrix: every catalogued equation with its three forms, its tests and its worked examples.

Above the catalogue, the registry and the worked examples (it reads all three); used by
``lmverify coverage`` and the report.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Any

from lmverify import registry
from lmverify.catalogue import TESTS_DIR, _marker_ids, forms, load


@lru_cache(maxsize=None)
def exercised(tests_dir: Path = TESTS_DIR) -> dict[str, tuple[str, ...]]:
    """Map equation id -> tests that exercise it: hand-written tests marked with it (read statically
    from ``tests/test_*.py``) and the generic tests its registry entry generates."""
    found: dict[str, list[str]] = {}
    for path in sorted(tests_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                for dec in node.decorator_list:
                    for eq_id in _marker_ids(dec, f"{path}:{dec.lineno}"):
                        found.setdefault(eq_id, []).append(f"{path.name}::{node.name}")
    for eq in registry.load():
        found.setdefault(eq.id, []).extend(registry.generated_tests(eq))
    return {k: tuple(v) for k, v in found.items()}


def worked_example_equations(examples=None) -> dict[str, list[str]]:
    """Map equation id -> worked examples that exercise it (of ``examples``, default the project's)."""
    from lmverify.worked import load_all_examples

    out: dict[str, list[str]] = {}
    for ex in (load_all_examples() if examples is None else examples):
        for eq_id in ex.equations:
            out.setdefault(eq_id, []).append(ex.id)
    return out


def coverage(examples=None) -> list[dict[str, Any]]:
    """One row per equation: its forms, its tests and its worked examples (``examples``: already loaded)."""
    tests = exercised()
    examples = worked_example_equations(examples)
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
    per_page: dict[str, list[int]] = {}
    for r in rows:
        c = per_page.setdefault(r["page"], [0, 0, 0])
        c[0] += 1
        c[1] += bool(r["displayed"])
        c[2] += bool(r["symbolic"] and r["numpy"] and r["torch"] and r["tests"])
    lines += ["", "| page | equations catalogued | displayed in the page | with three forms and a test |", "|---|---|---|---|"]
    lines += [f"| {page} | {n} | {d} | {ok} |" for page, (n, d, ok) in sorted(per_page.items())]
    lines.append("")
    lines.append(f"{complete} / {len(rows)} equations have all three forms and at least one test.")
    return "\n".join(lines)


def page_examples(course, examples=None, pages=None, reports=None) -> list[dict[str, Any]]:
    """Every worked example printed in the pages (or in ``pages``): ``!!! example`` boxes and sections whose
    heading says "Worked Example", from the page model, and the worked-example files that cover it. A file
    covers a block when its section (or a claim's scope) names the block, read as titles are read (not by
    line numbers), or when one of its claims is located inside the block. ``reports`` (the report's
    judged examples) give the located lines; without them the examples are judged here."""
    from lmverify.course.accounting import example_ranges
    from lmverify.course.course import as_course
    from lmverify.course.judging import judge_example
    from lmverify.course.model import normal_title
    from lmverify.worked import load_all_examples

    course = as_course(course)
    if reports is None:
        examples = load_all_examples() if examples is None else examples
        reports = [judge_example(ex, course) for ex in examples]
    rows = []
    for page in (course.pages if pages is None else pages):
        model = course.page(page)
        for start, end, title in example_ranges(model):
            want = normal_title(title)
            covered = set()
            for rep in reports:
                ex = rep.example
                if ex.page != page:
                    continue
                titles = {normal_title(ex.section)} | {normal_title(c.scope) for c in ex.claims if c.scope}
                lines = [ln for ln in rep.page_lines.values() if ln is not None]
                if want in titles or any(start <= ln <= end for ln in lines):
                    covered.add(ex.id)
            rows.append({"page": page, "line": start, "title": title, "covered_by": sorted(covered)})
    return rows


def page_examples_markdown(rows: list[dict[str, Any]]) -> str:
    pages: dict[str, list[dict]] = {}
    for r in rows:
        pages.setdefault(r["page"], []).append(r)
    out = ["| page | worked examples in the page | covered by a worked-example file | not covered |", "|---|---|---|---|"]
    for page, rs in pages.items():
        missing = [f"{r['title']} (line {r['line']})" for r in rs if not r["covered_by"]]
        out.append(f"| {page} | {len(rs)} | {len(rs) - len(missing)} | {'; '.join(missing) or '-'} |")
    total = len(rows)
    covered = sum(1 for r in rows if r["covered_by"])
    out += ["", f"{covered} / {total} worked examples of the pages are covered by a worked-example file."]
    return "\n".join(out)


def equations_per_page() -> dict[str, int]:
    counts: dict[str, int] = {}
    for eq in load():
        counts[eq["page"]] = counts.get(eq["page"], 0) + 1
    return counts
