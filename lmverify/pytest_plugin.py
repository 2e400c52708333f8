"""The suite's command-line options, registered as an installed pytest plugin (entry point ``pytest11``).

Registered here rather than in conftest.py so that pytest knows, before it picks the
rootdir, that ``--course PATH`` and ``--impl PATH`` take a value: otherwise
``pytest --course ../shared/course`` would treat the folder as a test path.
Everything else of the plugin lives in the project's conftest.py.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lmverify", "language-modeling math verification")
    group.addoption("--impl", action="store", default=None, metavar="PATH",
                    help="student module (.py path or dotted name) to test instead of the references")
    group.addoption("--impl-array", action="store", default="numpy", choices=("numpy", "torch"),
                    help="array type the --impl functions receive (default: numpy float64 arrays)")
    group.addoption("--course", action="store", default=None, metavar="PATH",
                    help="folder of the course pages (e.g. ../shared/course); tests needing it skip without it")
