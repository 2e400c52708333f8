"""Authoring worked examples: ``lmverify new`` (a worked-example file and a recipe skeleton, written where the
author says: ``--examples-dir``, the course's own folder from its ``mkdocs.yml``, or this project's
``worked_examples/`` only when run inside this project), ``lmverify claims`` (the claims a page's numbers
support) and :func:`as_printed`, the helper for carried rounding.

Everything written is quoted: YAML through PyYAML's dumper, Python through ``repr``, so any heading text (quotes,
``\\(``, backslashes, ``\"\"\"``, unicode, a newline) round-trips. The author's guide is ``docs/authoring.md``
(:data:`DOCS`)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from lmverify.catalogue import PROJECT_ROOT, load, topics
from lmverify.exitcodes import write_output

#: the author's guide: the schema, the recipe helpers, carried rounding, the anchor rules, a walk-through
DOCS = PROJECT_ROOT / "docs" / "authoring.md"

_NAME = re.compile(r"[a-z][a-z0-9_]*")


# -- where an example is written ------------------------------------------------------------------------


def _mkdocs_examples_dir(start: Path) -> tuple[Path | None, Path | None]:
    """(the course's examples folder, the mkdocs.yml that names it) from the nearest ``mkdocs.yml`` at or
    above ``start``: the ``examples_dir`` option of its ``lmverify`` plugin, relative to the config's folder.
    (None, config) when the config has no such option; (None, None) when there is no config."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("", lambda loader, suffix, node: None)  # !!python/name:, !ENV
    for folder in [start, *start.parents]:
        for name in ("mkdocs.yml", "mkdocs.yaml"):
            config = folder / name
            if not config.is_file():
                continue
            try:
                data = yaml.load(config.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a SafeLoader
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                raise ValueError(f"new: {config}: cannot read it to find the lmverify plugin's examples_dir: {exc}")
            plugins = data.get("plugins") if isinstance(data, dict) else None
            for entry in plugins or []:
                opts = entry.get("lmverify") if isinstance(entry, dict) else None
                if isinstance(opts, dict) and isinstance(opts.get("examples_dir"), str):
                    return folder / opts["examples_dir"], config
            return None, config
    return None, None


def examples_folder(examples_dir: str | Path | None = None, cwd: Path | None = None) -> Path:
    """Where ``lmverify new`` writes: ``examples_dir`` when given; else the ``examples_dir`` option of the
    ``lmverify`` plugin in the course's ``mkdocs.yml`` (the nearest one at or above ``cwd``):

        plugins:
          - lmverify:
              examples_dir: lmverify/examples

    else this project's ``worked_examples/`` when ``cwd`` is inside this project; else a ``ValueError``
    saying how to name a folder (never this project's folder from elsewhere)."""
    if examples_dir is not None:
        return Path(examples_dir)
    cwd = Path.cwd() if cwd is None else Path(cwd)
    found, config = _mkdocs_examples_dir(cwd.resolve())
    if found is not None:
        return found
    if cwd.resolve().is_relative_to(PROJECT_ROOT.resolve()):
        return PROJECT_ROOT / "worked_examples"
    where = (f"{config} has no lmverify plugin with an examples_dir option" if config is not None
             else f"no mkdocs.yml at or above {cwd}")
    raise ValueError(f"new: where should the example go? {where}; give --examples-dir DIR (-o DIR), or add "
                     f"`plugins: [{{lmverify: {{examples_dir: DIR}}}}]` to the course's mkdocs.yml")


# -- quoting ------------------------------------------------------------------------------------------


def yaml_scalar(value: Any) -> str:
    """``value`` as one YAML flow scalar (quoted where needed, escapes for newlines): loads back equal."""
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=1 << 30)
    text = text.rstrip("\n")
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    if "\n" in text:  # a folded plain scalar: write it double-quoted, with escapes, on one line
        text = yaml.safe_dump(value, default_style='"', allow_unicode=True, width=1 << 30).rstrip("\n")
    return text


def _comment(text: str) -> str:
    """Text for a YAML or Python comment: one line (a newline shown as ``\\n``)."""
    return str(text).replace("\r", "\\r").replace("\n", "\\n")


def _docstring(text: str) -> str:
    """A Python docstring literal for ``text``: triple-quoted where that is safe, else ``repr``."""
    safe = '"""' not in text and "\\" not in text and "\r" not in text and not text.endswith('"')
    return f'"""{text}"""' if safe else repr(text)


_YAML = '''# A worked example of {page_c}, section {section_c} (course pages: lmverify report --course PATH).
# The author's guide (schema, recipe helpers, carried rounding, anchor rules, a walk-through): {docs}
# Next: fill in inputs (as printed) and the recipe, then
#   lmverify trace {path}                  every quantity: full precision, exact, rounded
#   lmverify claims {path} --course PATH   the claims the page's numbers support, and what matches nothing
id: {id}
title: {title}
page: {page}
section: {section}   # the section heading or example title as printed
recipe: {name}   # in recipes.py beside this file
equations: []   # catalogue ids, e.g. [{example_id}]
notes: >
  What the example shows, and where the page goes wrong if it does.
inputs: {{}}   # numbers and nested lists, transcribed from the page
claims: []   # `lmverify claims` proposes them; see the filled example that `lmverify new` prints
'''

_RECIPE = '''

def {name}(inputs: dict, b: Backend) -> dict:
    {doc}
    return {{}}
'''

_RECIPE_DOC = ('{page}, section {section}: every quantity the page prints, by name.\n\n'
               '    Written once for every backend: ``b.run(topic, name, *args)`` calls the equation\'s function and\n'
               '    returns native values (exact on SymPy); ``b.const``, ``b.exp``, ``b.log``, ``b.sqrt``, ``b.tanh``,\n'
               '    ``b.sigmoid`` and ``b.row`` act on them; ``as_printed(b, x, places)`` rounds as the page prints\n'
               '    (for carried rounding); raise ``NotForBackend(reason)`` where it cannot run.\n    ')

_HEADER = '''"""Recipes for the {topic} worked examples: (inputs, backend) -> {{quantity: value}}."""

from __future__ import annotations

import numpy as np  # noqa: F401

from lmverify.authoring import as_printed  # noqa: F401 - carried rounding: the page's own rounded numbers
from lmverify.backends import Backend
from lmverify.worked import NotForBackend  # noqa: F401
'''

#: the filled example ``lmverify new`` shows (docs/authoring.md walks through it; the tests run it): the box
#: the course prints, the worked-example file, and its recipe
FILLED_PAGE_BOX = r"""!!! example "Worked Example: Four-Token Perplexity"
    A model gives the four tokens of a sentence the probabilities \(P(w_1) = 0.4\), \(P(w_2) = 0.3\), \(P(w_3) = 0.3\) and \(P(w_4) = 0.35\).
    **Sum of the logs:** \(\sum_i \ln p_i \approx -4.374\).
    **Mean negative log-likelihood:** \(H = -\frac{1}{4} \sum_i \ln p_i \approx 1.094\) nats per token.
    **Perplexity:** \(\text{PPL} = \exp(1.094) \approx 2.99\).
"""

FILLED_YAML = r"""id: ngram.four_token_perplexity
title: "Perplexity of four tokens from their probabilities"
page: language_modeling_basics.md
section: 'Worked Example: Four-Token Perplexity'
recipe: four_token_perplexity
equations: [ngram.perplexity]
inputs:
  probabilities: [0.4, 0.3, 0.3, 0.35]       # transcribed: used without --course
read:                                         # where the page prints each input: the reading before it
  probabilities: ['theprobabilitiesP(w_#)=', 'probabilitiesP(w_#)=#,P(w_#)=', 'P(w_#)=#,P(w_#)=#,P(w_#)=', '=#andP(w_#)=']
claims:                                       # from `lmverify claims`; the last one edited to carried
  - {quantity: log_sum, claimed: "-4.374", line: 370, before: ':\sum_i\lnp_i\approx', verdict: correct}
  - {quantity: mean_nll, claimed: "1.094", line: 371, before: '}\sum_i\lnp_i\approx', verdict: correct}
  - {name: "mean NLL in the exponent", quantity: mean_nll, claimed: "1.094", line: 372, before: '\text{PPL}=\exp(',
     verdict: correct}
  - {quantity: perplexity, claimed: "2.99", line: 372, before: '\exp(#)\approx', verdict: carried, correct: "2.98",
     carried: perplexity_of_printed_nll,
     explanation: "exp of the printed, rounded 1.094 is 2.986; the exact perplexity 2.985 rounds to 2.98"}
"""

FILLED_RECIPE = '''def four_token_perplexity(inputs: dict, b: Backend) -> dict:
    """'Worked Example: Four-Token Perplexity': the log sum, the mean NLL, the perplexity."""
    logs = b.log(b.const(inputs["probabilities"]))
    n = len(inputs["probabilities"])
    out = {"log_sum": sum(logs[i] for i in range(n))}
    out["mean_nll"] = -out["log_sum"] / n
    out["perplexity"] = b.run("ngram", "sequence_perplexity", log_probs=logs)
    # carried rounding: the same arithmetic on the number the page printed (1.094), not the exact one
    out["perplexity_of_printed_nll"] = float(np.exp(as_printed(b, out["mean_nll"], 3)))
    return out
'''

FILLED_EXAMPLE = (f"# the box on the page (docs/01_foundations/language_modeling_basics.md)\n{FILLED_PAGE_BOX}\n"
                  f"# <examples>/ngram/four_token_perplexity.yaml\n{FILLED_YAML}\n"
                  f"# <examples>/ngram/recipes.py\n{FILLED_RECIPE}")


def new_example(topic: str, name: str, section: str = "", root: Path | None = None, *,
                examples_dir: str | Path | None = None, page: str | None = None) -> tuple[Path, Path]:
    """Write ``<folder>/<topic>/<name>.yaml`` (a draft with no claims) and add a recipe ``name`` to the
    ``recipes.py`` beside it; returns both paths. ``<folder>`` is ``examples_dir``, or ``root/worked_examples``
    (``root``: a project root, as before), or :func:`examples_folder`'s choice. ``page`` defaults to the
    topic's page in the catalogue (required for a topic of the course's own). Every value is quoted, so any
    ``section`` text loads back unchanged and the recipes module still imports."""
    if not isinstance(topic, str) or not _NAME.fullmatch(topic):
        raise ValueError(f"new: the topic {topic!r} must be a lower-case identifier (it names the folder)")
    if not _NAME.fullmatch(name):
        raise ValueError(f"new: the name {name!r} must be a Python identifier in lower case (it names the recipe)")
    if not isinstance(section, str):
        raise ValueError(f"new: --section must be text, got {type(section).__name__}")
    eqs = [e for e in load() if e["topic"] == topic]
    if page is None:
        if not eqs:
            raise ValueError(f"new: unknown topic {topic!r}; expected one of {', '.join(topics())} "
                             f"(or give --page PAGE for a topic of the course's own)")
        page = eqs[0]["page"]
    folder_root = Path(examples_dir) if examples_dir is not None else \
        Path(root) / "worked_examples" if root is not None else examples_folder()
    folder = folder_root / topic
    yaml_path, recipes = folder / f"{name}.yaml", folder / "recipes.py"
    if yaml_path.exists():
        raise ValueError(f"new: {yaml_path} exists already")
    if recipes.exists() and re.search(rf"^def {name}\(", recipes.read_text(encoding="utf-8"), re.M):
        raise ValueError(f"new: {recipes} already defines a recipe {name!r}")
    fields = dict(
        page_c=_comment(page), section_c=_comment(repr(section)), docs=DOCS, path=_comment(str(yaml_path)),
        id=yaml_scalar(f"{topic}.{name}"), title=yaml_scalar(name), page=yaml_scalar(page),
        section=yaml_scalar(section), name=name, example_id=eqs[0]["id"] if eqs else f"{topic}.<equation>")
    text = _YAML.format(**fields)
    recipe_doc = _docstring(_RECIPE_DOC.format(page=page, section=repr(section)))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from lmverify.exitcodes import OutputError

        raise OutputError(f"new: cannot make the folder {str(folder)!r} ({exc.strerror or exc})") from None
    old = recipes.read_text(encoding="utf-8") if recipes.exists() else _HEADER.format(topic=topic)
    write_output(yaml_path, text, "new")
    write_output(recipes, old.rstrip("\n") + "\n" + _RECIPE.format(name=name, doc=recipe_doc), "new")
    return yaml_path, recipes


# -- carried rounding -----------------------------------------------------------------------------------


def as_printed(b, value: Any, places: int) -> Any:
    """``value`` (a native value of backend ``b``: a number, vector or matrix) rounded to ``places`` decimals
    as a page prints it, as float64 NumPy: the page's own rounded intermediates, for a ``carried`` quantity
    (the same arithmetic done on what the page printed). Rounds the exact binary value half to even, as the
    judge rounds (:func:`lmverify.printed.round_to`), so a number the judge calls correct is the number used."""
    from lmverify.printed import round_to

    if not isinstance(places, int) or isinstance(places, bool) or places < 0:
        raise ValueError(f"as_printed: places must be a whole number >= 0, got {places!r}")
    arr = np.asarray(b.to_numpy(value) if b is not None else value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"as_printed: the value is not finite ({arr!r}); a page cannot print it rounded")
    unit = Decimal(1).scaleb(-places)
    out = np.vectorize(lambda v: float(round_to(float(v), unit)), otypes=[np.float64])(arr)
    return float(out) if out.ndim == 0 else out


# -- claims ------------------------------------------------------------------------------------------------

#: the tokens of a reading: a LaTeX command, a word, digits, a number slot, an escaped character, one character
_TOKEN = re.compile(r"\\[A-Za-z]+|[A-Za-z]+|[0-9]+|#|\\.|.", re.S)


def _token_bounds(reading: str) -> tuple[set[int], set[int]]:
    starts, ends = set(), set()
    for m in _TOKEN.finditer(reading):
        starts.add(m.start())
        ends.add(m.end())
    return starts, ends


def whole_token_context(reading: str, slot: int, before: str, after: str) -> tuple[str, str]:
    """``before``/``after`` of the number whose slot is at ``slot`` in ``reading``, widened to whole tokens:
    ``before`` starts where a token starts, ``after`` ends where one ends (a context is never a fragment)."""
    starts, ends = _token_bounds(reading)
    s = slot - len(before)
    while s > 0 and s not in starts:
        s -= 1
    e = slot + 1 + len(after)
    if after:
        while e < len(reading) and e not in ends:
            e += 1
    return reading[s:slot], reading[slot + 1:e] if after else ""


def propose_claims(example, course) -> list[dict]:
    """Claims an author can keep: every number printed in the example's box or section (read from the page
    model) that is the rounding of exactly one quantity of the recipe (or one element of it), with the record
    that locates it: ``before`` (the reading before it, whole tokens, numbers written ``#``), ``after`` and
    ``occurrence`` where needed, and the line where it stands now.

    A number is attached to the quantity whose value is closest among those it is a correct rounding of
    (else, one unit off: ``rounding``); where two quantities are equally close it is not attached (the author
    chooses: :func:`unmatched_numbers` lists it with the candidates), except equal elements of one vector or
    matrix, taken in index order as the page prints the value again. Integers are proposed only for scalar
    quantities of 10 or more (small integers and matrix cells match almost anything); matrices are claimed
    by hand. :func:`unmatched_numbers` lists the rest."""
    return _proposals(example, course)[0]


def unmatched_numbers(example, course) -> list[tuple[int, str, str]]:
    """Every value number printed in the example's box or section that no claim is proposed for: (line,
    number, its context and why), for the author to claim by hand, read as an input, or declare unjudged."""
    return _proposals(example, course)[1]


def _closest(printed, values) -> tuple[tuple | None, list[str]]:
    """The one quantity ``printed`` is a rounding of, closest in value: ((name, index, value, verdict), []) or
    (None, the tied candidates' labels) when two are equally close, or (None, []) when none matches."""
    from lmverify.printed import judge_number

    target = float(printed.value)
    for wanted in ("correct", "rounding"):
        if wanted == "rounding" and printed.exact:
            break
        hits = []
        for name, index, value in values:
            if printed.exact and (index is not None or abs(value) < 10):
                continue  # small integers (0, 1, 2, matrix cells) match everywhere: too many false claims
            if judge_number(printed, value) == wanted:
                hits.append((abs(value - target), name, index, value))
        if not hits:
            continue
        hits.sort(key=lambda h: h[0])
        best = hits[0][0]
        tied = [h for h in hits if h[0] - best <= 1e-12 * max(1.0, abs(target))]
        if len(tied) > 1:
            return None, [f"{n}[{', '.join(map(str, i))}]" if i is not None else n for _, n, i, _ in tied]
        _, name, index, value = hits[0]
        return (name, index, value, wanted), []
    return None, []


def _proposals(example, course):
    from lmverify.course.course import as_course
    from lmverify.course.locate import candidates, scope_lines, unique_context
    from lmverify.printed import WorkedExampleError, parse_printed
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
    values = [(n, i, v) for n, i, v in values if np.isfinite(v)]
    out, unmatched = [], []
    seen_ties: dict[tuple, int] = {}
    for n in page.numbers_in(first, last):
        if n.index:
            continue
        text = n.text.replace("{,}", ",")
        before, after = page.context(n, 30, 10)
        shown = f"{before}[{n.text}]{after}"
        try:
            printed = parse_printed(text if "." in text or "e" in text.lower() else int(text.replace(",", "")), "page")
        except (WorkedExampleError, ValueError) as exc:
            unmatched.append((n.line, n.text, f"{shown}  (cannot be read as a number: {exc})"))
            continue
        best, tied = _closest(printed, values)
        if best is None and tied and len({t.split("[")[0] for t in tied}) == 1 and all("[" in t for t in tied):
            # equal elements of one vector or matrix (the same weight printed for several positions): the
            # k-th time the page prints the value here is the k-th of those elements, in index order
            k = seen_ties.get(tuple(tied), 0)
            seen_ties[tuple(tied)] = k + 1
            if k < len(tied):
                name = tied[k].split("[")[0]
                index = [int(i) for i in tied[k][len(name) + 1:-1].split(", ")]
                verdict = _closest(printed, [(name, index, v) for nm, ix, v in values
                                             if nm == name and ix == index])[0][3]
                best, tied = (name, index, None, verdict), []
        if best is None:
            why = f"  (equally close to {', '.join(tied)}: claim it by hand)" if tied else ""
            unmatched.append((n.line, n.text, shown + why))
            continue
        b, a, occ = unique_context(page, n, first, last, min_len=12)
        reading = page.blocks[n.block].reading
        b, a = whole_token_context(reading, n.offset, b, a)
        if occ is not None:
            found = candidates(page, first, last, b, a)
            occ = found.index(n) if len(found) > 1 and n in found else None
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
