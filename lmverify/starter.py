"""``lmverify starter``: a student's module to fill in, one function per equation of a topic.

Each function has the reference's exact name and parameters, the equation as the page prints it
(LaTeX, section and line), the reference's docstring (shapes, return types), the errors the suite
expects on bad input, and a body that raises ``NotImplementedError`` — so the suite skips it cleanly
(``pytest -k <topic> --impl starter.py``) and says which function to write next.
"""

from __future__ import annotations

import importlib
import inspect
import textwrap

from lmverify import catalogue


def _selected(words: list[str]) -> list[dict]:
    eqs = catalogue.load()
    if not words:
        raise ValueError("starter: name a topic or equation words (e.g. `lmverify starter attention`, `... lstm`)")
    out = []
    for eq in eqs:
        hay = f"{eq['id']} {eq['function']}".lower()
        if any(w.lower() == eq["topic"] or w.lower() in hay for w in words):
            out.append(eq)
    if not out:
        raise ValueError(f"starter: no equation matches {' '.join(words)!r}; topics: {', '.join(catalogue.topics())}")
    return out


def starter(words: list[str]) -> str:
    from lmverify import registry

    eqs = _selected(words)
    by_function: dict[tuple[str, str], list[dict]] = {}
    for eq in eqs:
        by_function.setdefault(catalogue.function_of(eq), []).append(eq)
    topics = sorted({t for t, _ in by_function})
    lines = [
        f'"""My implementation of {", ".join(topics)} (lm-math-verify starter).',
        "",
        "Fill in one function at a time and run, e.g.:",
        f"    pytest -k {topics[0]} --impl {'THIS_FILE.py'}",
        "Functions still raising NotImplementedError are skipped, with their name in the skip reason.",
        "Arrays arrive as NumPy float64 arrays (use --impl-array torch for tensors).",
        '"""',
        "",
        "import numpy as np",
        "",
    ]
    for (topic, name), entries in by_function.items():
        ref = getattr(importlib.import_module(f"reference.numpy.{topic}"), name)
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
