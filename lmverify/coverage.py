"""The coverage matrix: every catalogued equation with its three forms, its tests and its worked examples.

Above the catalogue, the registry and the worked examples (it reads all three); used by
``lmverify coverage`` and the report.
"""

from __future__ import annotations

from typing import Any

from lmverify.catalogue import exercised, forms, load


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
