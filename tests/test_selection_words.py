"""`pytest -k <function name>` selects the tests of the equations that function implements (issue 20: 29
of the 105 starter function names selected nothing, while the empty-selection message offered them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmverify import catalogue

ROOT = Path(__file__).resolve().parents[1]


NAMES = ["greedy_decode", "sequence_log_likelihood", "character_ngrams"]

#: run in a child: collect under `-k "a or b or c"` (the file prefilter on) and say which names each
#: selected test matches, as pytest's own -k matching sees its keywords
_SCRIPT = """
import json, sys
import pytest
from _pytest.mark import KeywordMatcher
from _pytest.mark.expression import Expression

names = sys.argv[1:]
found = {n: [] for n in names}

class Record:
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items):
        for item in items:
            for n in names:
                if Expression.compile(n).evaluate(KeywordMatcher.from_item(item)):
                    found[n].append(item.nodeid)

pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-k", " or ".join(names)],
            plugins=[Record()])
print("RESULT" + json.dumps(found))
"""


def _selected(names: list[str]) -> dict[str, list[str]]:
    import json

    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    p = subprocess.run([sys.executable, "-c", _SCRIPT, *names], cwd=ROOT, capture_output=True, text=True,
                       env=env, timeout=300)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT")), None)
    assert line is not None, p.stdout[-2000:] + p.stderr[-2000:]
    return json.loads(line[len("RESULT"):])


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
