"""Worked examples: the machinery (parsing, verdicts, schema errors) and the golden files.

The examples themselves run as their own items (``pytest worked_examples/``, see
lmverify/pytest_worked.py). Here each example's full-precision recomputed values are
pinned as a golden CSV (pytest-regressions' num_regression, 17 significant digits), so
any change in an implementation shows up as a regression.
"""

from __future__ import annotations

import textwrap
from decimal import Decimal

import numpy as np
import pytest

from lmverify.tolerance import tolerance_for
from lmverify.worked import (
    WorkedExampleError,
    compute,
    example_paths,
    judge_number,
    load_example,
    parse_printed,
)

EXAMPLES = example_paths()


@pytest.mark.golden
@pytest.mark.parametrize("path", EXAMPLES, ids=[f"{p.parent.name}-{p.stem}" for p in EXAMPLES])
def test_worked_example_golden_values(path, num_regression):
    """Every quantity a recipe computes (NumPy float64), flattened, as a reviewable golden CSV."""
    example = load_example(path)
    quantities = compute(example, "numpy")
    columns = {}
    for name, value in sorted(quantities.items()):
        if isinstance(value, (str, bool)) or name.startswith("input."):  # inputs are read, not computed
            continue
        arr = np.atleast_1d(np.asarray(value, dtype=np.float64)).ravel()
        columns[name] = arr
    tol = tolerance_for("float64")
    num_regression.check(columns, basename=example.id.replace(".", "__"),
                         default_tolerance=dict(rtol=tol.rtol, atol=tol.atol))


# ---------------------------------------------------------------- printed numbers and verdicts


@pytest.mark.parametrize(
    "claimed,value,unit",
    [
        (3, "3", None),
        ("0.366", "0.366", "0.001"),
        ("-10.009", "-10.009", "0.001"),
        ("4,194,304", "4194304", None),
        ("4{,}194{,}304", "4194304", None),
        ("2.68e8", "2.68E+8", "1E+6"),
        ("7.4", "7.4", "0.1"),
    ],
)
def test_parse_printed_keeps_printed_precision(claimed, value, unit):
    p = parse_printed(claimed, "here")
    assert p.value == Decimal(value)
    assert p.unit == (None if unit is None else Decimal(unit))


@pytest.mark.parametrize("bad", [0.366, "about 3", "0.3.6", True, None])
def test_parse_printed_rejects_unreadable_claims(bad):
    with pytest.raises(WorkedExampleError, match="here"):
        parse_printed(bad, "here")


@pytest.mark.parametrize(
    "claimed,computed,verdict",
    [
        ("0.366", 0.36552929, "correct"),
        ("7.436", 7.43656366, "rounding"),   # one unit off in the last place
        ("7.435", 7.43656366, "error"),      # two units off
        ("2.68e8", 268435456.0, "correct"),
        ("2.69e8", 268435456.0, "rounding"),
        (1, 1.0, "correct"),
        (0, 2.0, "error"),
        ("0.021", 0.020410997, "rounding"),
        ("0.0204", 0.020410997, "correct"),
    ],
)
def test_judge_number_verdicts(claimed, computed, verdict):
    assert judge_number(parse_printed(claimed, "t"), computed) == verdict


# ---------------------------------------------------------------- malformed files name file, key, expectation

GOOD = """
id: attention.tiny
title: tiny
page: attention_math.md
section: s
recipe: four_token_example
equations: [attention.scaled_dot_product]
inputs: {Q_scale: 2, K: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], V: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]}
claims:
  - quantity: Q
    claimed: [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 2]]
    line: 1
    before: a
    verdict: correct
"""


def _write(tmp_path, text, topic="attention", name="ex.yaml"):
    folder = tmp_path / topic
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def test_worked_example_schema_accepts_a_good_file(tmp_path):
    ex = load_example(_write(tmp_path, GOOD))
    assert ex.id == "attention.tiny" and ex.claims[0].verdict == "correct"


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda t: t.replace("recipe: four_token_example\n", ""), "missing key 'recipe'"),
        (lambda t: t.replace("verdict: correct", "verdict: right"), "key 'verdict' must be one of"),
        (lambda t: t.replace("claimed: [[2, 0, 0, 0], [0, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 2]]", "claimed: 0.5"), "write non-integers as strings"),
        (lambda t: t.replace("line: 1", "line: one"), "key 'line' must be int"),
        (lambda t: t.replace("verdict: correct", "verdict: error"), "needs an 'explanation'"),
        (lambda t: t.replace("id: attention.tiny", "id: ngram.tiny"), "must start with the topic folder name"),
        (lambda t: t + "surprise: 1\n", "unknown top-level keys"),
        (lambda t: t.replace("equations: [attention.scaled_dot_product]", "equations: attention"),
         "key 'equations' must be list"),
        (lambda t: t.replace("    before: a\n", "    before: a\n    colour: red\n"), "unknown keys ['colour']"),
        (lambda t: t.replace("inputs:", "inputs: !!python/object/apply:os.system ['echo pwned']\nx:"),
         "not valid YAML"),
        (lambda t: "claims: [unclosed", "not valid YAML"),
        (lambda t: "- a list\n", "expected a mapping at the top level"),
    ],
)
def test_worked_example_schema_errors_name_file_and_key(tmp_path, edit, message):
    path = _write(tmp_path, edit(textwrap.dedent(GOOD)))
    with pytest.raises(WorkedExampleError) as err:
        load_example(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_worked_example_unknown_quantity_is_reported(tmp_path):
    from lmverify.worked import evaluate

    path = _write(tmp_path, GOOD.replace("quantity: Q", "quantity: nothing_like_this"))
    with pytest.raises(WorkedExampleError, match="computed no quantity 'nothing_like_this'"):
        evaluate(load_example(path))
