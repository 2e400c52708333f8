"""``lmverify new``: a worked-example file and a recipe skeleton, for an author starting an example."""

from __future__ import annotations

import re
from pathlib import Path

from lmverify.catalogue import PROJECT_ROOT, load, topics

_YAML = '''# Transcribed from {page} (course "Foundations of Language Modeling"), section "{section}".
# Claims are the page's numbers exactly as printed (strings keep the printed precision); the suite
# recomputes and judges them. Run `lmverify trace {path}` to see every quantity of the recipe
# (full precision, exact, rounded) before writing the claims; `pytest {path}` judges them.
id: {topic}.{name}
title: "{name}"
page: {page}
section: "{section}"         # the section heading or example title as printed
recipe: {name}               # worked_examples/{topic}/recipes.py
equations: []                # catalogue ids, e.g. [{example_id}]
notes: >
  What the example shows, and where the page goes wrong if it does.
inputs: {{}}                  # numbers and nested lists, transcribed from the page
claims: []                   # - quantity: <a name the recipe returns>
                             #   claimed: "0.366"   line: 172   anchor: "w_{{0,0}}"   verdict: correct
'''

_RECIPE = '''

def {name}(inputs: dict, b: Backend) -> dict:
    """{page}, section "{section}": every quantity the page prints, by name.

    Written once for every backend: ``b.run(topic, name, *args)`` calls the equation's function and
    returns native values (exact on SymPy); ``b.const``, ``b.exp``, ``b.log``, ``b.sqrt``, ``b.tanh``,
    ``b.sigmoid`` and ``b.row`` act on them; raise ``NotForBackend(reason)`` where it cannot run.
    """
    return {{}}
'''

_HEADER = '''"""Recipes for the {topic} worked examples: (inputs, backend) -> {{quantity: value}}."""

from __future__ import annotations

from lmverify.backends import Backend
from lmverify.worked import NotForBackend  # noqa: F401
'''


def new_example(topic: str, name: str, section: str = "", root: Path = PROJECT_ROOT) -> tuple[Path, Path]:
    if topic not in topics():
        raise ValueError(f"new: unknown topic {topic!r}; expected one of {', '.join(topics())}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"new: the name {name!r} must be a Python identifier in lower case (it names the recipe)")
    folder = Path(root) / "worked_examples" / topic
    yaml_path, recipes = folder / f"{name}.yaml", folder / "recipes.py"
    if yaml_path.exists():
        raise ValueError(f"new: {yaml_path} exists already")
    if recipes.exists() and re.search(rf"^def {name}\(", recipes.read_text(encoding="utf-8"), re.M):
        raise ValueError(f"new: {recipes} already defines a recipe {name!r}")
    eqs = [e for e in load() if e["topic"] == topic]
    fields = dict(topic=topic, name=name, page=eqs[0]["page"], section=section, example_id=eqs[0]["id"],
                  path=yaml_path.relative_to(root) if yaml_path.is_relative_to(root) else yaml_path)
    folder.mkdir(parents=True, exist_ok=True)
    yaml_path.write_text(_YAML.format(**fields), encoding="utf-8")
    text = recipes.read_text(encoding="utf-8") if recipes.exists() else _HEADER.format(topic=topic)
    recipes.write_text(text.rstrip("\n") + "\n" + _RECIPE.format(**fields), encoding="utf-8")
    return yaml_path, recipes


def propose_claims(example, course) -> list[dict]:
    """Claims an author can keep: every number printed in the example's box or section (read from the page
    model) that equals a quantity of the recipe (or one element of it) at its printed precision, each with
    the record that locates it: ``before`` (the words and symbols before it, whole tokens, numbers written
    ``#``), ``after`` and ``occurrence`` where needed, and the line where it stands now.

    ``correct`` matches come first; a number one unit off in its last place is proposed as ``rounding``.
    Integers are proposed only for scalar quantities of 10 or more (small integers and matrix cells match
    almost anything); matrices are claimed by hand. :func:`unmatched_numbers` lists the rest.
    """
    return _proposals(example, course)[0]


def unmatched_numbers(example, course) -> list[tuple[int, str, str]]:
    """The value numbers printed in the example's box or section that no quantity of the recipe explains:
    (line, number, its context), for the author to claim by hand, read as an input, or declare unjudged."""
    return _proposals(example, course)[1]


def _proposals(example, course):
    import numpy as np

    from lmverify.course.course import as_course
    from lmverify.course.locate import scope_lines, unique_context
    from lmverify.printed import WorkedExampleError, judge_number, parse_printed
    from lmverify.worked import compute

    page = as_course(course).page(example.page)
    first, last, how = scope_lines(page, example.section)
    if how == "page":
        raise ValueError(f"claims: the section {example.section!r} is not in {example.page} (give the title of its "
                         f"box or section as printed)")
    values: list[tuple[str, list[int] | None, float]] = []
    for name, v in compute(example, "numpy").items():
        if isinstance(v, (str, bool)):
            continue
        arr = np.asarray(v, dtype=np.float64)
        if arr.ndim == 0:
            values.append((name, None, float(arr)))
        elif arr.size <= 64:
            values += [(name, [int(i) for i in idx], float(arr[idx])) for idx in np.ndindex(arr.shape)]
    out, unmatched = [], []
    for n in page.numbers_in(first, last):
        if n.index:
            continue
        text = n.text.replace("{,}", ",")
        try:
            printed = parse_printed(text if "." in text or "e" in text.lower() else int(text.replace(",", "")), "page")
        except (WorkedExampleError, ValueError):
            continue
        best = None
        for name, index, value in values:
            if printed.exact and (index is not None or abs(value) < 10):
                continue  # small integers (0, 1, 2, matrix cells) match everywhere: too many false claims
            verdict = judge_number(printed, value)
            if verdict == "correct" or (verdict == "rounding" and not printed.exact):
                if best is None or (verdict == "correct" and best[3] != "correct"):
                    best = (name, index, value, verdict)
        before, after = page.context(n, 30, 10)
        if best is None:
            unmatched.append((n.line, n.text, f"{before}[{n.text}]{after}"))
            continue
        b, a, occ = unique_context(page, n, first, last, min_len=12)
        claim = {"quantity": best[0], "claimed": text if not printed.exact else int(printed.value),
                 "line": n.line, "before": b, "verdict": best[3]}
        if a:
            claim["after"] = a
        if occ is not None:
            claim["occurrence"] = occ
        if best[1] is not None:
            claim["index"] = list(best[1])
        out.append(claim)
    return out, unmatched
