"""Cheap ``-k`` selection: leave out, before importing them, what ``-k`` cannot select.

``pytest -k lstm`` normally imports every test module and builds every parametrised item (some
thousands) only to deselect almost all of them; the student loop then costs several times the
imports it needs. Here a ``-k`` expression is evaluated, in three-valued (Kleene) logic, against the
*words* a test file or a registry entry can produce: a word absent from them is certainly not a
substring of any keyword of its items (False); a word present may be (unknown). A file or an entry
is left out only when the expression is certainly False for it, so the selection is never changed:
``-k "not slow"``, ``-k oracle`` or an expression this parser does not understand keeps everything.

The words of a test file: its text (test names, parameter ids, equation markers), its path, its
topic, and the names of every marker and backend (added to items at collection time). The words of a
registry entry: its id, function, topic, the generic test's name, marker and backend names.
"""

from __future__ import annotations

import re
from typing import Callable

_TOKEN = re.compile(r"\s*(\(|\)|and\b|or\b|not\b|[^\s()]+)")

#: words every item may carry without them being in its file: markers and backend parameter ids
ALWAYS = ("symbolic", "property", "oracle", "golden", "worked_example", "notebook", "slow", "generic", "numeric",
          "equation", "sympy", "numpy", "torch64", "torch32", "impl", "parametrize", "usefixtures", "skip",
          "skipif", "xfail", "filterwarnings", "hypothesis", "tests")

Truth = bool | None  # None: unknown


class _Unparsable(Exception):
    pass


def _parse(expr: str) -> list[str]:
    tokens, pos = [], 0
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or not m.group(1):
            if expr[pos:].strip():
                raise _Unparsable(expr)
            break
        tokens.append(m.group(1))
        pos = m.end()
    return tokens


def evaluate(expr: str, maybe: Callable[[str], bool]) -> Truth:
    """Kleene evaluation of a ``-k`` expression; ``maybe(word)`` says whether ``word`` can match at all."""
    tokens = _parse(expr)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise _Unparsable(expr)
        pos += 1
        return tokens[pos - 1]

    def or_expr() -> Truth:
        left = and_expr()
        while peek() == "or":
            take()
            right = and_expr()
            left = True if (left is True or right is True) else (False if left is False and right is False else None)
        return left

    def and_expr() -> Truth:
        left = not_expr()
        while peek() == "and":
            take()
            right = not_expr()
            left = False if (left is False or right is False) else (True if left is True and right is True else None)
        return left

    def not_expr() -> Truth:
        if peek() == "not":
            take()
            v = not_expr()
            return None if v is None else not v
        if peek() == "(":
            take()
            v = or_expr()
            if take() != ")":
                raise _Unparsable(expr)
            return v
        word = take()
        if word in ("and", "or", ")"):
            raise _Unparsable(expr)
        return None if maybe(word) else False

    result = or_expr()
    if pos != len(tokens):
        raise _Unparsable(expr)
    return result


def certainly_unselected(expr: str | None, words: str) -> bool:
    """True only when no item whose keywords are substrings of ``words`` (plus :data:`ALWAYS`) can match."""
    if not expr or not expr.strip():
        return False
    hay = (words + " " + " ".join(ALWAYS)).lower()

    def maybe(word: str) -> bool:
        # pytest joins the ids of several parameters with "-" ("numpy-sdpa", "softmax_temperature-impl"):
        # such a word may match when each of its parts can
        parts = [p for p in word.lower().split("-") if p]
        return all(p in hay for p in parts) if parts else True

    try:
        return evaluate(expr, maybe) is False
    except (_Unparsable, RecursionError):
        return False
