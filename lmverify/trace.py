"""``lmverify trace``: every quantity of a worked example at full precision, exactly and rounded (an
author's tool, not a report)."""

from __future__ import annotations

import numpy as np

from lmverify.course.findings import _claimed_text
from lmverify.worked import Example, evaluate

def trace(example: Example, backend: str = "numpy", places: int = 4) -> str:
    """Every quantity of a worked example at full precision, its exact SymPy form (where the recipe runs
    exactly), a Markdown/LaTeX block rounded to ``places``, and each claim (if any) rounded as printed."""
    from lmverify.backends import Backend
    from lmverify.worked import NotForBackend, compute, compute_native

    q = compute(example, backend)
    out = [f"# Trace of {example.id} ({example.path}) on {backend}", "", "## Full precision", ""]
    for name, value in q.items():
        arr = np.asarray(value)
        with np.printoptions(precision=17, floatmode="maxprec", linewidth=120):
            out.append(f"{name} = {arr!s}" if arr.ndim else f"{name} = {float(arr)!r}")
    try:
        exact = compute_native(example, Backend("sympy"))
    except NotForBackend as exc:
        exact = None
        out += ["", f"(no exact form: {exc})"]
    if exact is not None:
        import sympy as sp

        out += ["", "## Exact (SymPy)", ""]
        for name, value in exact.items():
            try:
                if isinstance(value, sp.Expr) and sp.count_ops(value) < 200:
                    value = sp.simplify(value)
                out.append(f"{name} = {value}")
            except (TypeError, ValueError):
                out.append(f"{name} = {value}")
        out += ["", f"## Rounded to {places} places (Markdown with LaTeX; every number is its exact value rounded)", ""]
        for name, value in q.items():
            if isinstance(value, (str, bool)):
                continue
            arr = np.asarray(value, dtype=np.float64)
            tex = name.replace("_", "\\_")
            if arr.ndim == 0:
                out.append(f"- \\({tex} \\approx {float(arr):.{places}f}\\)")
            else:
                rows = np.atleast_2d(arr)
                body = r" \\ ".join(" & ".join(f"{v:.{places}f}" for v in row) for row in rows)
                out.append(f"- \\({tex} \\approx \\begin{{bmatrix}} {body} \\end{{bmatrix}}\\)")
    if example.claims:
        out += ["", "## Claims", "", "| claim | claimed | correctly rounded | verdict |", "|---|---|---|---|"]
        for r in evaluate(example, backend):
            out.append(f"| {r.claim.label} | {_claimed_text(r)} | {r.correct_text} | {r.verdict} |")
    return "\n".join(out) + "\n"
