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
