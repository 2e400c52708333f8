"""``lmverify starter``: a student's module to fill in, one function per equation of a topic.

Each function has the reference's exact name and parameters, the equation as the page prints it
(LaTeX, section and line), the reference's docstring (shapes, return types), the errors the suite
expects on bad input, and a body that raises ``NotImplementedError`` — so the suite skips it cleanly
(``pytest -k <topic> --impl starter.py``) and says which function to write next.
"""

from __future__ import annotations

import inspect
import textwrap

from lmverify import catalogue


def functions(words: list[str]) -> dict[tuple[str, str], list[dict]]:
    """The functions a starter offers for ``words``, as (module topic, name) -> their catalogued equations
    (empty for a helper of :data:`lmverify.registry.HELPERS`). A topic word offers exactly the functions the
    suite looks up in that topic's module: its equation functions (an equation printed on another topic's
    page but implemented in this module included; one implemented in another module not) and its helpers.
    Any other word offers the functions whose name or equation id contains it."""
    from lmverify import registry

    if not words:
        raise ValueError("starter: name a topic or equation words (e.g. `lmverify starter attention`, `... lstm`)")
    topics = set(catalogue.topics())
    out: dict[tuple[str, str], list[dict]] = {}
    for eq in catalogue.load():
        topic, name = catalogue.function_of(eq)
        hay = f"{eq['id']} {name}".lower()
        if any(w.lower() == topic if w.lower() in topics else w.lower() in hay for w in words):
            out.setdefault((topic, name), []).append(eq)
    for topic, names in registry.HELPERS.items():
        for name in names:
            if any(w.lower() == topic if w.lower() in topics else w.lower() in name for w in words):
                out.setdefault((topic, name), [])
    if not out:
        raise ValueError(f"starter: no equation matches {' '.join(words)!r}; topics: {', '.join(catalogue.topics())}")
    return out


def starter(words: list[str]) -> str:
    from lmverify import registry

    by_function = functions(words)
    topics = sorted({t for t, _ in by_function})
    lines = [
        f'"""My implementation of {", ".join(topics)} (lm-math-verify starter).',
        "",
        "Fill in one function at a time and run, e.g.:",
        f"    pytest -k {topics[0]} --impl {'THIS_FILE.py'}",
        "Functions still raising NotImplementedError are skipped, with their name in the skip reason.",
        "Arrays arrive as NumPy float64 arrays (use --impl-array torch for tensors).",
        "",
        "Rules the tests hold you to on non-finite input (docs/attention.md, 'Conventions'):",
        "  - NaN in an input propagates to the result: never return a number where the input has NaN;",
        "  - a softmax row of all -inf (a query with every key masked) gives zero weights and a zero output,",
        "    as F.scaled_dot_product_attention does since PyTorch 2.5 (a plain softmax gives NaN there);",
        "  - masks are boolean keep masks: True = may attend.",
        "Do not change the arrays you are given (compute on copies: `x = x - x.max()`, not `x -= x.max()`).",
        "An input your code does not handle: `raise NotSupported(\"why\")` (from lmverify.students); that input is",
        "counted as not covered, not failed.",
        "",
        "Your code shaped differently (fixed (N, D) batches, weights as (in, out), fused gates, a class, bits, a",
        "loss, NaN for a masked row)? Declare it instead of writing an adapter (docs/conventions.md):",
        "    LMVERIFY = {",
        '        "<suite function>": dict(use="<your function or class>", params={"<suite name>": "<yours>"},',
        '                                 batch="one", weights="transposed", gates="ifog", returns=0,',
        '                                 units="bits", sign="negated", masked_rows="nan", array="torch"),',
        "    }",
        '"""',
        "",
        "import numpy as np",
        "",
        "# LMVERIFY = {}  # declared conventions, one entry per function whose shape differs from the suite's",
        "",
    ]
    for (topic, name), entries in by_function.items():
        ref = catalogue.form_function("numpy", topic, name)
        if not entries:
            doc = inspect.getdoc(ref) or ""
            text = (doc + "\n\n" if doc else "") + "A helper the suite's tests call (no equation of its own)."
            text = text.replace('"""', "'''").replace("\\", "\\\\")
            lines += ["", f"def {name}{inspect.signature(ref)}:", textwrap.indent(f'"""{text}\n"""', "    "),
                      f'    raise NotImplementedError("{name}")', ""]
            continue
        sig = inspect.signature(ref)
        doc = inspect.getdoc(ref) or ""
        body = [doc, ""] if doc else []
        for eq in entries:
            body.append(f"Equation {eq['id']} ({eq['page']}, line {eq['line']}, section {eq['section']!r}):")
            body.append(f"    {eq['latex']}")
            entry = registry.get(eq["id"])
            if entry is not None and entry.errors:
                body.append("Raise on bad input (the suite checks the references for these):")
                for bad in entry.errors:
                    body.append(f"    {bad.error.__name__} for {bad.label} (message matching {bad.match!r})")
        text = "\n".join(body).replace('"""', "'''").replace("\\", "\\\\")
        lines.append("")
        lines.append(f"def {name}{sig}:")
        lines.append(textwrap.indent(f'"""{text}\n"""', "    "))
        lines.append(f'    raise NotImplementedError("{name}")')
        lines.append("")
    return "\n".join(lines)
