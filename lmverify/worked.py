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

Verdicts (computed, never typed in; the YAML records what the suite expects
so that the suite stays green while reporting errata, and fails when the page
or an implementation changes):

* ``correct``: equal at the printed precision (exact for integers);
* ``rounding``: one unit off in the last printed place (as carried rounded
  intermediates produce);
* ``convention``: wrong under the page's own convention, right under the
  ``alternative`` one;
* ``error``: anything else.

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
    line: int
    anchor: str
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
    where: str = ""

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.index is not None:
            return f"{self.quantity}[{', '.join(map(str, self.index))}]"
        return self.quantity

    @property
    def is_matrix(self) -> bool:
        return isinstance(self.claimed, list)

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

    def recipe_function(self):
        mod_name = f"worked_examples.{self.topic}.recipes"
        try:
            mod = importlib.import_module(mod_name)
        except ImportError as exc:
            raise WorkedExampleError(f"{self.path}: key 'recipe': cannot import {mod_name}: {exc}") from exc
        f = getattr(mod, self.recipe, None)
        if f is None or not callable(f):
            raise WorkedExampleError(f"{self.path}: key 'recipe': {mod_name} has no function {self.recipe!r}")
        return f


_EXAMPLE_KEYS = {"id": str, "title": str, "page": str, "section": str, "recipe": str, "equations": list,
                 "inputs": dict, "claims": list}
_CLAIM_KEYS = {"quantity", "claimed", "line", "anchor", "verdict", "index", "printed", "correct", "explanation",
               "alternative", "statistical", "bound", "name", "carried"}


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
    anchor = _req(raw, "anchor", str, where)
    verdict = _req(raw, "verdict", str, where)
    if verdict not in VERDICTS:
        raise WorkedExampleError(f"{where}: key 'verdict' must be one of {VERDICTS}, got {verdict!r}")
    if "claimed" not in raw:
        raise WorkedExampleError(f"{where}: missing key 'claimed'")
    claim = Claim(quantity=quantity, claimed=raw["claimed"], line=line, anchor=anchor, verdict=verdict,
                  where=where, name=raw.get("name"), printed=raw.get("printed"), correct=raw.get("correct"),
                  explanation=raw.get("explanation"), alternative=raw.get("alternative"), carried=raw.get("carried"),
                  statistical=raw.get("statistical"), bound=raw.get("bound"))
    if "index" in raw:
        idx = raw["index"]
        if not (isinstance(idx, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in idx)):
            raise WorkedExampleError(f"{where}: key 'index' must be a list of integers, got {idx!r}")
        claim.index = tuple(idx)
    if claim.bound is not None:
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


class _StrictLoader(yaml.SafeLoader):
    """``yaml.safe_load`` that refuses duplicate keys (YAML keeps the last one silently)."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"key {key!r} appears twice (first at line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load_example(path: str | Path, *, allow_no_claims: bool = False) -> Example:
    """Load and validate a worked-example file (``allow_no_claims``: an author's new example, for ``trace``)."""
    path = Path(path)
    if not path.is_file():
        raise WorkedExampleError(f"{path}: no such worked-example file")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506 - a SafeLoader
    except UnicodeDecodeError as exc:
        raise WorkedExampleError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    except yaml.YAMLError as exc:
        raise WorkedExampleError(f"{path}: not valid YAML: {exc}") from exc
    where = str(path)
    if not isinstance(raw, dict):
        raise WorkedExampleError(f"{where}: expected a mapping at the top level, got {type(raw).__name__}")
    unknown = set(raw) - set(_EXAMPLE_KEYS) - {"notes"}
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
    return Example(id=vals["id"], title=vals["title"], topic=topic, page=vals["page"], section=vals["section"],
                   recipe=vals["recipe"], equations=list(vals["equations"]), inputs=vals["inputs"],
                   claims=claims, path=path, notes=raw.get("notes", ""))


def example_paths(root: Path = EXAMPLES_DIR) -> list[Path]:
    return sorted(p for p in root.glob("*/*.yaml"))


def load_all_examples(root: Path = EXAMPLES_DIR) -> list[Example]:
    return [load_example(p) for p in example_paths(root)]


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
    return {k: b.to_numpy(v) if not isinstance(v, (str, bool)) else v for k, v in out.items()}


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
            alt = np.asarray(_value(quantities, claim.alternative, claim.index, claim.where))
            alt_cells = _judge_cells(claim.claimed, alt, claim.where)
            if all(c.verdict in ("correct", "rounding") for c in alt_cells):
                verdict = "convention"
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


def evaluate(example: Example, backend: Backend | str = "numpy") -> list[ClaimResult]:
    quantities = compute(example, backend)
    return [judge(c, quantities) for c in example.claims]


def recorded_correct_matches(result: ClaimResult) -> bool:
    """Does the YAML's recorded 'correct' value agree with the recomputed one at the printed precision?"""
    claim = result.claim
    if claim.correct is None:
        return True
    if claim.is_matrix:
        correct = np.asarray(claim.correct, dtype=object)
        if correct.shape != np.shape(result.computed):
            return False
        return all(judge_number(parse_printed(correct[idx], claim.where), float(np.asarray(result.computed)[idx])) == "correct"
                   for idx in np.ndindex(correct.shape))
    return judge_number(parse_printed(claim.correct, claim.where + ": correct"), float(result.computed)) == "correct"
