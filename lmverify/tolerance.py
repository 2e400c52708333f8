"""How close is close: one tolerance policy for the whole suite.

Every comparison in the suite takes its (rtol, atol) from here; tests never
invent their own. Both numbers are always given (as in ``torch.testing``):
``|got - expected| <= atol + rtol * |expected|`` elementwise.

Defaults per dtype, and why:

* ``float64`` (1e-7, 1e-7): torch.testing's float64 default. A float64
  implementation of a short formula lands within a few ulps (~1e-15) of the
  exact value; 1e-7 leaves room for accumulated rounding over sums of a few
  thousand terms and for libm differences, and still catches any real error
  (a forgotten scale, a wrong sign, a mask applied after softmax), which
  moves results by 1e-2 or more.
* ``float32`` (1.3e-6, 1e-5): torch.testing's float32 default: about ten ulps
  of float32 (eps = 1.19e-7) relative, 1e-5 absolute for values near zero.
* ``exact``: SymPy against SymPy; equality is exact, so both are zero.

Overrides are per (equation id, dtype) and must quote the error that was
observed to need them. Use :func:`tolerance_for` to get the pair.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float
    reason: str = ""

    def __post_init__(self) -> None:
        if self.rtol < 0 or self.atol < 0:
            raise ValueError(f"tolerances must be non-negative, got rtol={self.rtol}, atol={self.atol}")

    def allows(self, got: float, expected: float) -> bool:
        return abs(got - expected) <= self.atol + self.rtol * abs(expected)


DEFAULTS: dict[str, Tolerance] = {
    "float64": Tolerance(1e-7, 1e-7, "torch.testing default for float64"),
    "float32": Tolerance(1.3e-6, 1e-5, "torch.testing default for float32"),
    "exact": Tolerance(0.0, 0.0, "SymPy against SymPy is exact"),
}

#: (equation id, dtype) -> Tolerance, each with the observed error that needed it.
OVERRIDES: dict[tuple[str, str], Tolerance] = {
    # exp() magnifies the float32 rounding of the mean log-probability by |mean log p| <= 11.5:
    # observed 1.96e-6 relative for V <= 1e5, T <= 50 (tests/test_ngram.py, uniform model).
    ("ngram.perplexity", "float32"): Tolerance(
        4e-6, 1e-5, "exp's condition number is |mean log p| <= 11.5; observed 1.96e-6 relative for V <= 1e5, T <= 50"
    ),
}

#: ARPA files store log10 probabilities that KenLM computed in float32.
#: A float64 implementation agrees to ~2e-7 in log10 (shared/kenlm/README.md).
KENLM_LOG10 = Tolerance(0.0, 1e-6, "KenLM computes in float32; float64 agrees to ~2e-7 in log10")


def tolerance_for(dtype: str, equation: str | None = None) -> Tolerance:
    """The (rtol, atol) for results of ``dtype`` ('float64', 'float32', 'exact')."""
    if dtype not in DEFAULTS:
        raise ValueError(f"unknown dtype {dtype!r}; expected one of {sorted(DEFAULTS)}")
    if equation is not None and (equation, dtype) in OVERRIDES:
        return OVERRIDES[(equation, dtype)]
    return DEFAULTS[dtype]
