"""Worked examples as data: loading, recomputing, and judging the page's claims.

A worked example is a YAML file ``worked_examples/<topic>/<name>.yaml``::

    id: attention.four_token_example
    title: Four tokens, d_k = 4
    page: attention_math.md
    section: "Worked Example: Four Tokens, \\(d_k = 4\\)"
    recipe: four_token_example        # function in worked_examples/<topic>/recipes.py
    equations: [attention.scaled_dot_product, ...]
    inputs: {Q: [[2, 0], [0, 2]], ...}  # numbers / nested lists, passed to the recipe
    claims:
      - quantity: weights              # a name the recipe returns
        index: [0, 0]                  # optional: one element of it
        claimed: "0.366"               # exactly as printed: strings keep the printed precision
        printed: "0.366"               # optional: the literal text in the page, if it differs
        line: 172                      # line of the page where the claim is printed
        anchor: "w_{0,0}"              # short text that locates the claim on that line
        verdict: correct               # the recorded verdict: correct | rounding | error | convention
        correct: "0.366"               # for rounding/error/convention: the right value, as it should be printed
        explanation: ...               # for rounding/error/convention: one line
        alternative: q2                # for convention: the quantity under the other convention
        statistical: {estimate: q, standard_error: se}   # a Monte Carlo claim
        bound: {min: 0.99}             # a qualitative claim ("effectively one-hot")
      - quantity: ngrams               # a list claim: the recipe returns a list (or set) of members
        claimed: ["<ru", "run"]        # the members as printed
        members: set                   # set (order and repeats ignored) | ordered (same members, same order)

Verdicts (computed, never typed in; the YAML records what the suite expects
so that the suite stays green while reporting errata, and fails when the page
or an implementation changes):

* ``correct``: equal at the printed precision (exact for integers);
* ``rounding``: one unit off in the last printed place (as carried rounded
  intermediates produce);
* ``convention``: wrong under the page's own convention, right under the
  ``alternative`` one;
* ``error``: anything else (for a list claim: members missing or extra, or, for
  ``members: ordered``, out of order; the report names them).

Worked examples outside ``worked_examples/`` (a course repository's own, or the tests'
mini-course) load with ``load_all_examples(root)``: their recipes are imported from the
``recipes.py`` beside the YAML file.

YAML is read with ``yaml.safe_load`` (nothing in a data file is executed) and
validated; a malformed file raises :class:`WorkedExampleError` naming the file,
the key and what was expected.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from lmverify.backends import Backend, reference_backend
from lmverify.printed import (  # noqa: F401 - re-exported: the verdict vocabulary of worked examples
    Printed,
    WorkedExampleError,
    format_like,
    judge_number,
    parse_printed,
    round_to,
)

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "worked_examples"
VERDICTS = ("correct", "carried", "rounding", "error", "convention")


class NotForBackend(Exception):
    """A recipe cannot run on this backend (e.g. Monte Carlo in SymPy)."""


# -- the schema -------------------------------------------------------------------

@dataclass
class Claim:
    quantity: str
    claimed: Any
    line: int  # where it was last seen: a hint for the report without pages, never used to locate
    anchor: str | None  # text claims (lists, qualitative claims, counts of printed items): the text before it
    verdict: str
    index: tuple[int, ...] | None = None
    printed: str | None = None
    correct: Any = None
    explanation: str | None = None
    alternative: str | None = None
    carried: str | None = None  # a quantity: the same arithmetic on the page's own printed (rounded) intermediates
    statistical: dict | None = None
    bound: dict | None = None
    name: str | None = None
    members: str | None = None  # a list claim: "set" or "ordered"
    where: str = ""
    before: str | None = None  # a printed number's slot: the reading just before it (numbers in it as #)
    after: str = ""  # ... and, where needed, just after it
    occurrence: int | None = None  # which of several places with the same context (0 = the first)
    scope: str | None = None  # the box or section it stands in, where that is not the example's own

    @property
    def slotted(self) -> bool:
        """Located by a context with a number slot: the page's number (or numbers) there are judged."""
        return self.before is not None

    @property
    def size(self) -> int:
        """How many numbers the claim reads from its slot (a matrix: all its cells, row by row)."""
        return int(np.asarray(self.claimed, dtype=object).size) if isinstance(self.claimed, list) else 1

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.index is not None:
            return f"{self.quantity}[{', '.join(map(str, self.index))}]"
        return self.quantity

    @property
    def is_matrix(self) -> bool:
        return isinstance(self.claimed, list) and self.members is None

    @property
    def is_list(self) -> bool:
        """A list claim: members compared as a set or in order (``members``), not numbers cell by cell."""
        return self.members is not None

    @property
    def qualitative(self) -> bool:
        return self.bound is not None


@dataclass
class Example:
    id: str
    title: str
    topic: str
    page: str
    section: str
    recipe: str
    equations: list[str]
    inputs: dict[str, Any]
    claims: list[Claim]
    path: Path
    notes: str = ""
    read: dict[str, Any] = field(default_factory=dict)  # input name -> where the page prints it (see read_inputs)

    def recipe_function(self):
        mod_name = f"worked_examples.{self.topic}.recipes"
        try:
            beside = self.path.resolve().parent / "recipes.py"
            if self.path.resolve().parent.parent == EXAMPLES_DIR or not beside.is_file():
                mod = importlib.import_module(mod_name)
            else:  # a folder of examples elsewhere (a course's own, the tests' mini-course): its recipes.py
                mod_name = str(beside)
                mod = _recipes_from_file(beside)
        except (ImportError, OSError) as exc:
            raise WorkedExampleError(f"{self.path}: key 'recipe': cannot import {mod_name}: {exc}") from exc
        f = getattr(mod, self.recipe, None)
        if f is None or not callable(f):
            raise WorkedExampleError(f"{self.path}: key 'recipe': {mod_name} has no function {self.recipe!r}")
        return f


def _recipes_from_file(path: Path):
    """The recipes module beside a worked example outside ``worked_examples/`` (imported once per file)."""
    import hashlib
    import importlib.util
    import sys

    name = "lmverify_recipes_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    if name in sys.modules:
        return sys.modules[name]
    if not path.is_file():
        raise ImportError(f"no recipes.py beside the worked example ({path})")
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]
        raise
    return mod


_EXAMPLE_KEYS = {"id": str, "title": str, "page": str, "section": str, "recipe": str, "equations": list,
                 "inputs": dict, "claims": list}
_CLAIM_KEYS = {"quantity", "claimed", "line", "anchor", "verdict", "index", "printed", "correct", "explanation",
               "alternative", "statistical", "bound", "name", "carried", "members", "before", "after", "occurrence", "scope"}


def _req(d: dict, key: str, typ: type | tuple, where: str) -> Any:
    if key not in d:
        raise WorkedExampleError(f"{where}: missing key {key!r}")
    if not isinstance(d[key], typ):
        name = typ.__name__ if isinstance(typ, type) else " or ".join(t.__name__ for t in typ)
        raise WorkedExampleError(f"{where}: key {key!r} must be {name}, got {type(d[key]).__name__}: {d[key]!r}")
    return d[key]


def _check_claimed(value: Any, where: str) -> None:
    if isinstance(value, list):
        if not value:
            raise WorkedExampleError(f"{where}: 'claimed' list is empty")
        for i, v in enumerate(value):
            _check_claimed(v, f"{where}[{i}]")
    else:
        parse_printed(value, where)


def _parse_claim(raw: Any, where: str) -> Claim:
    if not isinstance(raw, dict):
        raise WorkedExampleError(f"{where}: expected a mapping, got {type(raw).__name__}")
    unknown = set(raw) - _CLAIM_KEYS
    if unknown:
        raise WorkedExampleError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_CLAIM_KEYS)}")
    quantity = _req(raw, "quantity", str, where)
    line = _req(raw, "line", int, where)
    if "before" in raw:
        _req(raw, "before", str, where)
        if "anchor" in raw:
            raise WorkedExampleError(f"{where}: give 'before' (the context of a printed number) or 'anchor' (text "
                                     f"before a printed list or phrase), not both")
        anchor = None
    else:
        anchor = _req(raw, "anchor", str, where)
    for key, typ in (("after", str), ("occurrence", int), ("scope", str)):
        if key in raw and (not isinstance(raw[key], typ) or isinstance(raw[key], bool)):
            raise WorkedExampleError(f"{where}: key {key!r} must be {typ.__name__}, got {raw[key]!r}")
    if raw.get("occurrence", 0) < 0:
        raise WorkedExampleError(f"{where}: key 'occurrence' must be 0 or more, got {raw['occurrence']!r}")
    verdict = _req(raw, "verdict", str, where)
    if verdict not in VERDICTS:
        raise WorkedExampleError(f"{where}: key 'verdict' must be one of {VERDICTS}, got {verdict!r}")
    if "claimed" not in raw:
        raise WorkedExampleError(f"{where}: missing key 'claimed'")
    claim = Claim(quantity=quantity, claimed=raw["claimed"], line=line, anchor=anchor, verdict=verdict,
                  where=where, name=raw.get("name"), printed=raw.get("printed"), correct=raw.get("correct"),
                  explanation=raw.get("explanation"), alternative=raw.get("alternative"), carried=raw.get("carried"),
                  statistical=raw.get("statistical"), bound=raw.get("bound"), members=raw.get("members"),
                  before=raw.get("before"), after=raw.get("after", ""), occurrence=raw.get("occurrence"),
                  scope=raw.get("scope"))
    if claim.before is None and raw.get("members") is None and raw.get("bound") is None and claim.printed is None:
        raise WorkedExampleError(f"{where}: a number is located by 'before' (the context of its slot); 'anchor' "
                                 f"locates a text claim, which needs 'printed' (the text that carries it), so that "
                                 f"a claim is never judged on the recorded number where the page no longer prints it")
    if claim.before is not None and (raw.get("members") is not None or raw.get("bound") is not None):
        raise WorkedExampleError(f"{where}: a list or qualitative claim is located by 'anchor', not 'before'")
    if "index" in raw:
        idx = raw["index"]
        if not (isinstance(idx, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in idx)):
            raise WorkedExampleError(f"{where}: key 'index' must be a list of integers, got {idx!r}")
        claim.index = tuple(idx)
    if claim.members is not None:
        if claim.members not in ("set", "ordered"):
            raise WorkedExampleError(f"{where}: key 'members' must be 'set' or 'ordered', got {claim.members!r}")
        for key in ("claimed",) + (("correct",) if claim.correct is not None else ()):
            value = raw[key]
            if not isinstance(value, list) or not value or not all(
                    isinstance(m, (str, int)) and not isinstance(m, bool) for m in value):
                raise WorkedExampleError(f"{where}: a list claim ('members') needs {key!r} as a non-empty flat list "
                                         f"of members (strings, or numbers as printed), got {value!r}")
        if verdict not in ("correct", "error"):
            raise WorkedExampleError(f"{where}: a list claim's verdict is 'correct' or 'error', got {verdict!r}")
        if claim.index is not None or claim.bound is not None or claim.statistical is not None or claim.carried:
            raise WorkedExampleError(f"{where}: a list claim ('members') takes no 'index', 'bound', 'statistical' "
                                     f"or 'carried'")
    elif claim.bound is not None:
        if not isinstance(claim.bound, dict) or not set(claim.bound) <= {"min", "max"} or not claim.bound:
            raise WorkedExampleError(f"{where}: key 'bound' must be a mapping with 'min' and/or 'max'")
        for k, v in claim.bound.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise WorkedExampleError(f"{where}: key 'bound.{k}' must be a number, got {type(v).__name__}: {v!r}")
        if not isinstance(claim.claimed, str):
            raise WorkedExampleError(f"{where}: a claim with 'bound' is qualitative: 'claimed' must be the printed text")
    else:
        _check_claimed(claim.claimed, f"{where}: claimed")
    if claim.statistical is not None:
        if not isinstance(claim.statistical, dict) or set(claim.statistical) != {"estimate", "standard_error"}:
            raise WorkedExampleError(f"{where}: key 'statistical' must have exactly 'estimate' and 'standard_error'")
    if verdict != "correct":
        if not claim.explanation:
            raise WorkedExampleError(f"{where}: verdict {verdict!r} needs an 'explanation' (one line)")
        if claim.correct is None:
            raise WorkedExampleError(f"{where}: verdict {verdict!r} needs 'correct' (the right value as it should be printed)")
    if verdict == "convention" and not claim.alternative:
        raise WorkedExampleError(f"{where}: verdict 'convention' needs 'alternative' (the quantity under the other convention)")
    return claim


def load_example(path: str | Path, *, allow_no_claims: bool = False) -> Example:
    """Load and validate a worked-example file (``allow_no_claims``: an author's new example, for ``trace``)."""
    path = Path(path)
    if not path.is_file():
        raise WorkedExampleError(f"{path}: no such worked-example file")
    try:
        from lmverify import safeyaml

        raw = safeyaml.load(path.read_text(encoding="utf-8"), path)  # safe, strict keys, alias and depth limits
    except UnicodeDecodeError as exc:
        raise WorkedExampleError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except yaml.YAMLError as exc:
        raise WorkedExampleError(f"{path}: not valid YAML: {exc}") from exc
    where = str(path)
    if not isinstance(raw, dict):
        raise WorkedExampleError(f"{where}: expected a mapping at the top level, got {type(raw).__name__}")
    unknown = set(raw) - set(_EXAMPLE_KEYS) - {"notes", "read"}
    if unknown:
        raise WorkedExampleError(f"{where}: unknown top-level keys {sorted(unknown)}")
    if allow_no_claims:
        raw.setdefault("claims", [])
    vals = {k: _req(raw, k, t, where) for k, t in _EXAMPLE_KEYS.items()}
    topic = path.parent.name
    if not vals["id"].startswith(topic + "."):
        raise WorkedExampleError(f"{where}: key 'id' must start with the topic folder name {topic + '.'!r}, got {vals['id']!r}")
    if not vals["claims"] and not allow_no_claims:
        raise WorkedExampleError(f"{where}: key 'claims' is empty")
    claims = [_parse_claim(c, f"{where}: claims[{i}]") for i, c in enumerate(vals["claims"])]
    read = _parse_read(raw.get("read", {}), vals["inputs"], f"{where}: read")
    return Example(id=vals["id"], title=vals["title"], topic=topic, page=vals["page"], section=vals["section"],
                   recipe=vals["recipe"], equations=list(vals["equations"]), inputs=vals["inputs"],
                   claims=claims, path=path, notes=raw.get("notes", ""), read=read)


def _parse_read(raw: Any, inputs: dict, where: str) -> dict[str, Any]:
    """``read``: where the page prints each input. For each input name, a context (the reading before the
    number, as a claim's ``before``), a list of contexts (one per element), or a mapping ``{before, after,
    occurrence}`` that reads as many numbers as the transcribed input has (a vector, a matrix row by row)."""
    if not isinstance(raw, dict):
        raise WorkedExampleError(f"{where}: expected a mapping of input name to where the page prints it")
    for name, spec in raw.items():
        if name not in inputs:
            raise WorkedExampleError(f"{where}: {name!r} is not an input (inputs: {sorted(inputs)})")
        ok = isinstance(spec, str) or (isinstance(spec, list) and all(isinstance(x, (str, dict)) for x in spec)) or \
            (isinstance(spec, dict) and isinstance(spec.get("before"), str)
             and set(spec) <= {"before", "after", "occurrence", "scope"})
        if not ok:
            raise WorkedExampleError(f"{where}.{name}: expected a context string, a list of them, or a mapping "
                                     f"with 'before' (and 'after', 'occurrence', 'scope'), got {spec!r}")
        if isinstance(inputs[name], dict):
            raise WorkedExampleError(f"{where}.{name}: a mapping input cannot be read from the page; write it as a "
                                     f"list (in a stated order) to read it")
        if isinstance(spec, list):
            n = len(inputs[name]) if isinstance(inputs[name], list) else 1
            if len(spec) != n:
                raise WorkedExampleError(f"{where}.{name}: {len(spec)} context(s) for an input of {n} element(s)")
    return dict(raw)


#: files beside the worked examples that are not examples (the page's unjudged numbers)
NOT_EXAMPLES = ("unjudged.yaml",)


def example_paths(root: Path = EXAMPLES_DIR) -> list[Path]:
    return sorted(p for p in Path(root).glob("*/*.yaml") if p.name not in NOT_EXAMPLES)


def load_all_examples(root: Path | None = None) -> list[Example]:
    """Every worked example under ``root`` (``<root>/<topic>/<name>.yaml``; default ``worked_examples/``)."""
    root = EXAMPLES_DIR if root is None else Path(root)
    if not root.is_dir():
        raise WorkedExampleError(f"{root}: no such folder of worked examples (expected <folder>/<topic>/<name>.yaml)")
    return [load_example(p) for p in example_paths(root)]


def with_builtin_examples(root: Path, pages: "set[str] | None" = None) -> tuple[list[Example], list[Example]]:
    """A course's own examples (under ``root``) ADDED to the built-in ones of ``worked_examples/``: a course
    example overrides the built-in one with the same id. With ``pages`` (the course's page names), only the
    built-in examples of those pages are added. Returns (the examples, the built-in ones left out because
    their page is not among ``pages``), so a caller can say so instead of losing them silently."""
    own = load_all_examples(root)
    if Path(root).resolve() == EXAMPLES_DIR.resolve():
        return own, []
    ids = {ex.id for ex in own}
    builtin = [ex for ex in load_all_examples() if ex.id not in ids]
    left_out = [ex for ex in builtin if pages is not None and ex.page not in pages]
    out_ids = {ex.id for ex in left_out}
    return [ex for ex in builtin if ex.id not in out_ids] + own, left_out


# -- recomputing -----------------------------------------------------------------

def _as_input(v: Any) -> Any:
    if isinstance(v, list):
        arr = np.asarray(v)
        return arr.astype(np.float64) if arr.dtype.kind in "iuf" else arr
    if isinstance(v, dict):
        return {k: _as_input(x) for k, x in v.items()}
    return v


def compute(example: Example, backend: Backend | str = "numpy") -> dict[str, Any]:
    """Run the example's recipe on ``backend``; every quantity comes back as NumPy float64."""
    b = reference_backend(backend) if isinstance(backend, str) else backend
    out = compute_native(example, b)
    values = {k: v if isinstance(v, (str, bool)) else Members.of(v) if _is_members(v) else b.to_numpy(v)
              for k, v in out.items()}
    for k, v in example.inputs.items():  # an input as printed again elsewhere: claim it as ``input.<name>``
        arr = _as_input(v)
        if isinstance(arr, (int, float)) and not isinstance(arr, bool) or \
                isinstance(arr, np.ndarray) and arr.dtype.kind == "f":
            values.setdefault(f"input.{k}", np.asarray(arr, dtype=np.float64))
    return values


class Members(str):
    """A quantity that is a list of members (n-grams, nearest neighbours, pairs): a ``str`` (its members
    joined by ", ", so code that skips text quantities skips it) that keeps the members in ``.items``."""

    items: tuple

    @classmethod
    def of(cls, values) -> "Members":
        if isinstance(values, Members):
            return values
        items = sorted(values, key=str) if isinstance(values, (set, frozenset)) else list(values)
        m = cls(", ".join(map(str, items)))
        m.items = tuple(items)
        return m


def _is_members(v: Any) -> bool:
    """A list, tuple or set of strings (or tuples of strings, such as pairs): members, not numbers."""
    if isinstance(v, Members):
        return True
    if isinstance(v, (set, frozenset)):
        return True
    return isinstance(v, (list, tuple)) and bool(v) and all(isinstance(x, (str, tuple)) for x in v)


def compute_native(example: Example, backend: Backend | str = "numpy") -> dict[str, Any]:
    """Run the example's recipe on ``backend``; quantities as the recipe returns them (exact on SymPy)."""
    b = reference_backend(backend) if isinstance(backend, str) else backend
    try:
        inputs = {k: _as_input(v) for k, v in example.inputs.items()}
    except ValueError as exc:  # ragged nested lists
        raise WorkedExampleError(f"{example.path}: key 'inputs': {exc}") from None
    recipe = example.recipe_function()
    try:
        out = recipe(inputs, b)
    except KeyError as exc:
        if exc.args and exc.args[0] not in inputs and isinstance(exc.args[0], str):
            raise WorkedExampleError(
                f"{example.path}: key 'inputs': the recipe {example.recipe} needs the input {exc.args[0]!r}, which is "
                f"missing (the file gives {sorted(inputs)})") from None
        raise
    except (TypeError, ValueError, IndexError) as exc:
        if isinstance(exc, NotForBackend):
            raise
        shown = ", ".join(f"{k} ({type(v).__name__}{'' if not hasattr(v, 'shape') else f' of shape {v.shape}'})"
                          for k, v in inputs.items())
        raise WorkedExampleError(
            f"{example.path}: key 'inputs': the recipe {example.recipe} failed on these inputs on {b.label}: "
            f"{type(exc).__name__}: {exc} (inputs: {shown}); check each input's type and shape") from exc
    if not isinstance(out, dict):
        raise WorkedExampleError(f"{example.path}: recipe {example.recipe} must return a dict of quantities")
    return out


def _value(quantities: dict[str, Any], name: str, index: tuple[int, ...] | None, where: str) -> Any:
    if name not in quantities:
        raise WorkedExampleError(f"{where}: the recipe computed no quantity {name!r} (it has {sorted(quantities)})")
    v = np.asarray(quantities[name], dtype=np.float64)
    if index is not None:
        try:
            v = v[index]
        except IndexError as exc:
            raise WorkedExampleError(f"{where}: index {list(index)} out of range for {name} of shape {v.shape}") from exc
    return v


@dataclass
class CellResult:
    """One printed number: where it is in a matrix claim (or ()), what was printed, what is right."""

    index: tuple[int, ...]
    claimed: str
    computed: float
    correct: str
    verdict: str


@dataclass
class ClaimResult:
    claim: Claim
    verdict: str
    computed: Any
    correct_text: str
    cells: list[CellResult] = field(default_factory=list)
    detail: str = ""

    @property
    def wrong_cells(self) -> list[CellResult]:
        return [c for c in self.cells if c.verdict != "correct"]


_ORDER = {"correct": 0, "carried": 1, "rounding": 2, "convention": 3, "error": 4}


def _judge_cells(claimed: Any, computed: np.ndarray, where: str) -> list[CellResult]:
    cells = []
    flat_claims = np.asarray(claimed, dtype=object)
    if flat_claims.shape != computed.shape:
        raise WorkedExampleError(
            f"{where}: claimed matrix has shape {flat_claims.shape} but the quantity has shape {computed.shape}"
        )
    for idx in np.ndindex(computed.shape):
        printed = parse_printed(flat_claims[idx], where)
        c = float(computed[idx])
        cells.append(CellResult(tuple(int(i) for i in idx), printed.text, c, format_like(printed, c),
                                judge_number(printed, c)))
    return cells


def judge(claim: Claim, quantities: dict[str, Any]) -> ClaimResult:
    """The verdict on one claim given the recomputed quantities."""
    if claim.is_list:
        return judge_members(claim, quantities)
    value = _value(quantities, claim.quantity, claim.index, claim.where)
    if claim.qualitative:
        v = float(value)
        ok = ("min" not in claim.bound or v >= claim.bound["min"]) and ("max" not in claim.bound or v <= claim.bound["max"])
        bounds = " and ".join(f"{'>=' if k == 'min' else '<='} {b}" for k, b in claim.bound.items())
        return ClaimResult(claim, "correct" if ok else "error", v, f"{v:.6g}",
                           detail=f"qualitative claim read as: {claim.quantity} {bounds}; computed {v:.6g}")
    if claim.is_matrix:
        cells = _judge_cells(claim.claimed, np.asarray(value), claim.where)
        verdict = max((c.verdict for c in cells), key=_ORDER.__getitem__)
        if verdict != "correct" and claim.alternative:
            # cell by cell: a cell right only under the other convention is a convention; one right under
            # neither stays an error (one wrong cell does not turn the convention cells into errors)
            alt = np.asarray(_value(quantities, claim.alternative, claim.index, claim.where))
            alt_cells = _judge_cells(claim.claimed, alt, claim.where)
            for c, a in zip(cells, alt_cells):
                if c.verdict in ("rounding", "error") and a.verdict in ("correct", "rounding"):
                    c.verdict = "convention"
            verdict = max((c.verdict for c in cells), key=_ORDER.__getitem__)
        texts = np.empty(np.shape(value), dtype=object)
        for c in cells:
            texts[c.index] = c.correct
        correct_text = str(texts.tolist()).replace("'", "")
        return ClaimResult(claim, verdict, np.asarray(value), correct_text, cells=cells)
    printed = parse_printed(claim.claimed, claim.where)
    v = float(value)
    if claim.statistical:
        est = float(_value(quantities, claim.statistical["estimate"], None, claim.where))
        se = float(_value(quantities, claim.statistical["standard_error"], None, claim.where))
        half = float(printed.unit) / 2 if printed.unit is not None else 0.0
        ok = abs(float(printed.value) - est) <= 4 * se + half
        return ClaimResult(claim, judge_number(printed, v) if ok else "error", v, format_like(printed, v),
                           detail=f"Monte Carlo estimate {est:.6g} +- {se:.3g} (standard error); "
                                  f"claim {'within' if ok else 'outside'} 4 standard errors")
    verdict = judge_number(printed, v)
    if verdict in ("rounding", "error") and claim.carried:
        carried = float(_value(quantities, claim.carried, None, claim.where))
        if judge_number(printed, carried) == "correct":
            return ClaimResult(claim, "carried", v, format_like(printed, v),
                               detail=f"right on the page's own rounded intermediates ({carried:.10g}); "
                                      f"the exact value rounds to {format_like(printed, v)}")
    if verdict == "error" and claim.alternative:
        alt = float(_value(quantities, claim.alternative, claim.index, claim.where))
        if judge_number(printed, alt) in ("correct", "rounding"):
            verdict = "convention"
    return ClaimResult(claim, verdict, v, format_like(printed, v))


def member_text(m: Any) -> str:
    """A member as compared and shown: strings stripped, pairs as (a,b), numbers as printed."""
    if isinstance(m, tuple):
        return "(" + ",".join(member_text(x) for x in m) + ")"
    return str(m).strip()


def _computed_members(claim: Claim, quantities: dict[str, Any]) -> list[str]:
    if claim.quantity not in quantities:
        raise WorkedExampleError(f"{claim.where}: the recipe computed no quantity {claim.quantity!r} "
                                 f"(it has {sorted(quantities)})")
    v = quantities[claim.quantity]
    if isinstance(v, Members):
        return [member_text(m) for m in v.items]
    arr = np.asarray(v)
    if arr.ndim != 1:
        raise WorkedExampleError(f"{claim.where}: a list claim needs a list of members, but {claim.quantity} is "
                                 f"{type(v).__name__} of shape {arr.shape}")
    numeric = [m for m in claim.claimed if not isinstance(m, str) or _is_number(m)]
    like = parse_printed(numeric[0], claim.where) if numeric else None
    return [format_like(like, float(x)) if like is not None else member_text(x) for x in arr.tolist()]


def _is_number(text: str) -> bool:
    try:
        parse_printed(text, "")
        return True
    except WorkedExampleError:
        return False


def list_difference(claimed: list[str], computed: list[str], ordered: bool) -> tuple[list[str], list[str], str]:
    """(missing, extra, what else differs): members the page leaves out, members it has that are not right,
    and, for an ordered list with the same members, where the order first differs."""
    from collections import Counter

    have, want = Counter(claimed), Counter(computed)
    missing = [m for m in computed if m in (want - have)]
    extra = [m for m in claimed if m in (have - want)]
    missing, extra = list(dict.fromkeys(missing)), list(dict.fromkeys(extra))
    if not ordered:
        return [m for m in dict.fromkeys(computed) if m not in set(claimed)], \
            [m for m in dict.fromkeys(claimed) if m not in set(computed)], ""
    order = ""
    if not missing and not extra and claimed != computed:
        k = next(i for i, (a, b) in enumerate(zip(claimed, computed)) if a != b)
        order = f"order differs from position {k + 1}: printed {claimed[k]}, should be {computed[k]}"
    return missing, extra, order


def judge_members(claim: Claim, quantities: dict[str, Any]) -> ClaimResult:
    """A list claim: the printed members against the computed ones, as a set or as an ordered list."""
    computed = _computed_members(claim, quantities)
    claimed = [member_text(m) for m in claim.claimed]
    ordered = claim.members == "ordered"
    missing, extra, order = list_difference(claimed, computed, ordered)
    ok = not missing and not extra and not order
    parts = [f"missing {', '.join(missing)}" if missing else "", f"extra {', '.join(extra)}" if extra else "", order]
    detail = "; ".join(p for p in parts if p) or f"the same members{' in the same order' if ordered else ''}"
    shown = computed if ordered else list(dict.fromkeys(computed))
    return ClaimResult(claim, "correct" if ok else "error", shown, ", ".join(shown),
                       detail=f"compared as {'an ordered list' if ordered else 'a set'}: {detail}")


def evaluate(example: Example, backend: Backend | str = "numpy") -> list[ClaimResult]:
    quantities = compute(example, backend)
    return [judge(c, quantities) for c in example.claims]


def recorded_correct_matches(result: ClaimResult) -> bool:
    """Does the YAML's recorded 'correct' value agree with the recomputed one at the printed precision?"""
    claim = result.claim
    if claim.correct is None:
        return True
    if claim.is_list:
        correct = [member_text(m) for m in claim.correct]
        missing, extra, order = list_difference(correct, list(result.computed), claim.members == "ordered")
        return not missing and not extra and not order
    if claim.is_matrix:
        correct = np.asarray(claim.correct, dtype=object)
        if correct.shape != np.shape(result.computed):
            return False
        return all(judge_number(parse_printed(correct[idx], claim.where), float(np.asarray(result.computed)[idx])) == "correct"
                   for idx in np.ndindex(correct.shape))
    return judge_number(parse_printed(claim.correct, claim.where + ": correct"), float(result.computed)) == "correct"
