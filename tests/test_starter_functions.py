"""`lmverify starter <topic>` offers exactly the functions the suite looks up in that topic's module (issue 20:
`starter ngram` offered FastText's character_ngrams, `starter recurrent` the attention module's
linear_attention_recurrent, and neither offered lstm_gates or gru_gates, which the tests call)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from lmverify import catalogue, registry
from lmverify.starter import functions, starter

ROOT = Path(__file__).resolve().parents[1]


def _called_names() -> set[str]:
    """Every function name the tests and the registry pass to the harness (check.call("x"), b.run(topic, "x"))."""
    pattern = re.compile(r'\.(?:call|run|fn|agree)\(\s*"([a-z_0-9]+)"(?:,\s*"([a-z_0-9]+)")?')
    names = set()
    for path in list((ROOT / "tests").glob("*.py")) + list((ROOT / "lmverify" / "registry").glob("*.py")):
        if path.name == Path(__file__).name:
            continue  # this file's own docstrings
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            names.add(m.group(2) or m.group(1))
    return names


def test_the_tests_call_only_equation_functions_and_declared_helpers():
    offered = {name for topic in catalogue.topics() for _, name in functions([topic])}
    # names of reference functions (a test's own helper objects, e.g. a hostile module's .call("segfaults"),
    # are not looked up in the student's module)
    references = [catalogue.form_module("numpy", t) for t in catalogue.topics()]
    called = {n for n in _called_names() if any(callable(getattr(m, n, None)) for m in references)}
    assert {"lstm_gates", "scaled_dot_product_attention", "greedy_decode"} <= called  # the scan finds calls
    assert called - offered == set(), "functions the tests call that no starter offers (add to registry.HELPERS)"


@pytest.mark.parametrize("topic", catalogue.topics())
def test_starter_of_a_topic_offers_the_functions_of_its_module(topic):
    module = catalogue.form_module("numpy", topic)
    offered = functions([topic])
    assert {t for t, _ in offered} == {topic}
    expected = {catalogue.function_of(eq)[1] for eq in catalogue.load() if catalogue.function_of(eq)[0] == topic}
    expected |= set(registry.HELPERS.get(topic, ()))
    assert {n for _, n in offered} == expected
    assert all(hasattr(module, n) for n in expected)
    tree = ast.parse(starter([topic]))
    defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert defined == expected


def test_starter_topics_do_not_leak_into_each_other():
    assert "character_ngrams" not in {n for _, n in functions(["ngram"])}
    assert "linear_attention_recurrent" not in {n for _, n in functions(["recurrent"])}
    recurrent = {n for _, n in functions(["recurrent"])}
    assert {"lstm_gates", "gru_gates"} <= recurrent
    # a word that is not a topic still finds by name, helpers included
    assert ("recurrent", "lstm_gates") in functions(["lstm"])


def test_starter_states_the_non_finite_rules():
    text = starter(["attention"])
    assert "NaN in an input propagates" in text and "all -inf" in text and "keep masks" in text
