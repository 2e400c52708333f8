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

import numpy as np


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


# -- float32 tolerances from the computation's conditioning ------------------------------------
#
# A fixed float32 atol (1e-5) holds for results of modest size computed by short sums, and fails,
# given enough examples, wherever the inputs are large or the sums long: the rounding error of a
# float32 computation grows with the *magnitudes it passes through*, not with its result. So for
# float32 an equation may declare a first-order bound kappa on its rounding error in units of the
# unit roundoff u = 2^-24, computed from its inputs (standard forward error analysis, Higham,
# "Accuracy and Stability of Numerical Algorithms", ch. 3):
#
#   * a dot product / sum of n terms:      |fl(sum x_i) - sum x_i| <= gamma_n * sum |x_i|,  gamma_n ~ n u;
#     the float64 -> float32 conversion of each input adds u per factor, so a product of two
#     inputs carries 2u: kappa_dot(x, y) = (n + 2) * sum |x_i y_i|;
#   * an elementwise function f with |f'| <= L (tanh, sigmoid: L <= 1) maps an argument error delta to
#     L delta, plus u |f| of its own (a few ulps for torch's float32 kernels: counted as 2);
#   * softmax: a perturbation delta of every logit changes each weight w by at most 2 delta w
#     (|d log w_i / d z_j| <= 1 for i != j, and 1 - w_i for i = j), and normalising by a sum of n
#     terms adds (n + 2) u relative;
#   * a convex combination sum_j w_j v_j: the weight errors times max |v|, plus (m + 1) u max |v|.
#
# The float32 tolerance is then atol + 2 u kappa (a factor 2 for the bounds' first-order terms and
# library kernels a few ulps off), with the dtype's rtol. The bound is rigorous to first order, so it
# holds at any sample size (the `thorough` profile), and it stays far below the errors that matter: a
# forgotten scale, a transposed matrix or a mask after the softmax move results by O(|result|).

U32 = 2.0**-24


def conditioned(dtype: str, kappa: float | None, equation: str | None = None) -> Tolerance:
    """The tolerance for a result of ``dtype`` whose rounding error is bounded by ``u * kappa``."""
    base = tolerance_for(dtype, equation)
    if dtype != "float32" or kappa is None or not np.isfinite(kappa):
        return base
    extra = 2.0 * U32 * float(kappa)
    if extra <= 0.1 * base.atol:
        return base
    return Tolerance(base.rtol, base.atol + extra,
                     f"{base.reason}; + 2u*kappa = {extra:.3g} from the inputs' conditioning (lmverify/tolerance.py)")


def _abs(x) -> np.ndarray:
    return np.abs(np.asarray(x, dtype=np.float64))


def kappa_matmul(A, B) -> float:
    """A @ B over the last axis of A: max over cells of (n + 2) * sum_k |A_ik B_kj|."""
    A, B = _abs(A), _abs(B)
    n = A.shape[-1]
    return float(np.max((n + 2) * (A @ B), initial=0.0))


def kappa_softmax(z, tau=1.0) -> float:
    """softmax(z / tau) over the last axis: logits carry 2u|z/tau| (conversion and division)."""
    z = _abs(z) / float(tau)
    finite = np.where(np.isfinite(z), z, 0.0)
    n = z.shape[-1] if z.ndim else 1
    return float(2 * 2 * np.max(finite, initial=0.0) + n + 2)


def kappa_scaled_dot_product(Q, K, V) -> float:
    """softmax(Q K^T / sqrt(d)) V: logit error (d + 3) sum_d |q k| / sqrt(d); weights 2x that; output max|V| times."""
    Q, K, V = _abs(Q), _abs(K), _abs(V)
    d, m = Q.shape[-1], K.shape[-2]
    dz = (d + 3) * np.max(Q @ np.swapaxes(K, -1, -2), initial=0.0) / np.sqrt(d)
    return float(np.max(V, initial=0.0) * (2 * dz + 2 * m + 4) + 1.0)


def kappa_additive(h_enc, s, W1, W2, v) -> float:
    """v^T tanh(W1 h_j + W2 s): argument error (n + 2) A_i with A_i = sum|W1 h| + sum|W2 s|, n = d_h + d_s;
    tanh adds 2u and passes the argument error with slope <= 1; the outer dot product adds (d_a + 2) sum|v_i t_i|."""
    h, s, W1, W2, v = (_abs(a) for a in (h_enc, s, W1, W2, v))
    n = W1.shape[-1] + W2.shape[-1]
    A = h @ W1.T + (W2 @ s)[None, :]  # (T_enc, d_a)
    arg = (n + 2) * A + 2
    return float(np.max(arg @ v + (v.shape[-1] + 2) * v.sum(), initial=0.0))
