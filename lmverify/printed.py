"""Printed numbers and their verdicts: how the page printed a number, and whether it is right.

``parse_printed('0.366')`` keeps the printed precision (the unit of the last printed place);
``judge_number`` says ``correct`` (equal at that precision), ``rounding`` (one unit off in the
last place) or ``error``; ``format_like`` prints a computed value the way the page printed the claim.
The lowest layer of the worked-example machinery: it knows nothing of YAML, recipes or pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np

from lmverify.tolerance import tolerance_for


class WorkedExampleError(ValueError):
    """A worked-example file (or a number in it) is malformed: the message names the file and key."""


@dataclass(frozen=True)
class Printed:
    """A number as printed: its value and the unit of its last printed place (None = exact)."""

    text: str
    value: Decimal
    unit: Decimal | None

    @property
    def exact(self) -> bool:
        return self.unit is None


_INT = re.compile(r"^[+-]?\d+$")
_DEC = re.compile(r"^[+-]?\d*\.\d+$")
_SCI = re.compile(r"^([+-]?\d+(?:\.(\d+))?)e([+-]?\d+)$")


def parse_printed(claimed: Any, where: str) -> Printed:
    """Parse a claimed number: an int (exact), or a string '0.366', '-10.009', '2.68e8', '4,194,304'."""
    if isinstance(claimed, bool):
        raise WorkedExampleError(f"{where}: 'claimed' must be a number or numeric string, got a boolean")
    if isinstance(claimed, int):
        return Printed(str(claimed), Decimal(claimed), None)
    if isinstance(claimed, float):
        raise WorkedExampleError(
            f"{where}: 'claimed' is the float {claimed!r}; write non-integers as strings exactly as printed "
            f"(e.g. '0.366') so the printed precision is kept"
        )
    if not isinstance(claimed, str):
        raise WorkedExampleError(f"{where}: 'claimed' must be a number or numeric string, got {type(claimed).__name__}")
    text = claimed.strip().replace("{,}", "").replace(",", "").replace("\u2212", "-")
    if _INT.match(text):
        return Printed(claimed, Decimal(text), None)
    if _DEC.match(text):
        decimals = len(text.split(".")[1])
        return Printed(claimed, Decimal(text), Decimal(1).scaleb(-decimals))
    m = _SCI.match(text)
    if m:
        decimals = len(m.group(2) or "")
        exp = int(m.group(3))
        return Printed(claimed, Decimal(m.group(1)).scaleb(exp), Decimal(1).scaleb(exp - decimals))
    raise WorkedExampleError(
        f"{where}: cannot read claimed value {claimed!r}; expected an integer, a decimal like '0.366' "
        f"or scientific notation like '2.68e8'"
    )


def round_to(value: float, unit: Decimal) -> Decimal:
    """``value`` rounded to a multiple of ``unit`` (half to even, on the exact binary value)."""
    return (Decimal(value) / unit).quantize(Decimal(1), rounding=ROUND_HALF_EVEN) * unit


def judge_number(printed: Printed, computed: float) -> str:
    """'correct', 'rounding' or 'error' for one printed number against its computed value."""
    if not np.isfinite(computed):
        return "correct" if str(computed) == printed.text else "error"
    if printed.exact:
        tol = tolerance_for("float64")
        return "correct" if tol.allows(computed, float(printed.value)) else "error"
    units_off = abs((printed.value - round_to(computed, printed.unit)) / printed.unit)
    if units_off == 0:
        return "correct"
    if units_off == 1:
        return "rounding"
    return "error"


def format_like(printed: Printed, computed: float) -> str:
    """The computed value printed the way the page prints this claim."""
    if printed.exact:
        return str(int(round(computed))) if float(computed).is_integer() or abs(computed - round(computed)) < 1e-9 else repr(float(computed))
    text = printed.text.strip()
    m = _SCI.match(text.replace(",", ""))
    if m:
        exp = int(m.group(3))
        decimals = len(m.group(2) or "")
        mant = round_to(computed, printed.unit) / Decimal(1).scaleb(exp)
        return f"{mant:.{decimals}f}e{exp}"
    decimals = -printed.unit.as_tuple().exponent
    return f"{round_to(computed, printed.unit):.{decimals}f}"
