"""`pytest -k <function name>` selects the tests of the equations that function implements (issue 20: 29
of the 105 starter function names selected nothing, while the empty-selection message offered them)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

from lmverify import catalogue

ROOT = Path(__file__).resolve().parents[1]


NAMES = ["greedy_decode", "sequence_log_likelihood", "character_ngrams"]

#: the environment that makes this module a recording plugin in the child below
_NAMES_VAR, _OUT_VAR = "LMVERIFY_TEST_SELECTION_NAMES", "LMVERIFY_TEST_SELECTION_OUT"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Only where this module is loaded as a plugin (``-p tests.test_selection_words``, by ``_selected``; a test
    module's hooks are never called otherwise): after ``-k`` has deselected, which names each selected test
    matches, as pytest's own -k matching sees its keywords."""
    from _pytest.mark import KeywordMatcher
    from _pytest.mark.expression import Expression

    names = json.loads(os.environ[_NAMES_VAR])
    found = {n: [] for n in names}
    for item in items:
        for n in names:
            if Expression.compile(n).evaluate(KeywordMatcher.from_item(item)):
                found[n].append(item.nodeid)
    Path(os.environ[_OUT_VAR]).write_text(json.dumps(found), encoding="utf-8")


def _selected(names: list[str]) -> dict[str, list[str]]:
    """Collect under `-k "a or b or c"` (the file prefilter on) in a pytest process of its own (forked from the
    suite's preloaded forkserver: lmverify.grade.run_pytest) and read what the hook above recorded."""
    from lmverify.grade import run_pytest

    with tempfile.TemporaryDirectory(prefix="lmverify-selection-") as tmp:
        out = Path(tmp) / "found.json"
        r = run_pytest("--collect-only", "-p", "no:xdist", "-p", "tests.test_selection_words", "-k", " or ".join(names),
                       env={_NAMES_VAR: json.dumps(names), _OUT_VAR: str(out)})
        assert out.is_file(), f"exit {r.returncode}\n{r.stdout[-2000:]}{r.stderr[-2000:]}"
        return json.loads(out.read_text(encoding="utf-8"))


def test_function_names_select_their_equations_tests():
    """One name whose tests live in a topic file under other names (the file prefilter must keep it), one
    that the generic registry tests carry, one tested in another topic's file (FastText's n-grams)."""
    found = _selected(NAMES)
    for name in NAMES:
        assert found[name], f"-k {name} selects no test"


def test_every_function_name_reaches_an_equation_marker():
    """Each catalogued function has an equation whose id is carried by a test (the catalogue's coverage
    test checks each equation is exercised; this checks the map from names to those equations)."""
    from lmverify.pytest_plugin import _equation_functions

    names = {catalogue.function_of(eq)[1] for eq in catalogue.load()}
    assert names == set(_equation_functions().values())
