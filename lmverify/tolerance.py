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

A float32 tolerance grows with the conditioning of the inputs (:func:`conditioned`),
and a law's bound (|e_j| <= ||v||_1, a convex combination between V's extremes)
is taken from the inputs as the backend receives them, rounded to its dtype, with
a margin for rounding that includes the subnormal range: :func:`received_bound`,
the one helper for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

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


def kappa_skipgram_softmax(v_I, E_out) -> float:
    """softmax(E_out v_I): logit error (d + 2) sum_k |E_wk v_k| (kappa_matmul); each weight p carries twice
    that relative, plus (V + 2) u for the normalising sum; p <= 1, so that is also its absolute error."""
    v, E = _abs(v_I), _abs(E_out)
    dz = kappa_matmul(v, E.T)
    return float(2 * dz + E.shape[-2] + 2)


def kappa_skipgram_gradient(v_I, E_out, o=None) -> float:
    """d log softmax(E_out v_I)_o: v'_o - sum_w p_w v'_w and (1[w = o] - p_w) v_I. The weights' error
    (:func:`kappa_skipgram_softmax`) times max |v'| (or max |v_I|), plus (V + 1) u max|v'| for the sum of V
    products and u for the subtraction."""
    v, E = _abs(v_I), _abs(E_out)
    big = max(float(np.max(E, initial=0.0)), float(np.max(v, initial=0.0)))
    return float(big * (kappa_skipgram_softmax(v_I, E_out) + E.shape[-2] + 2))


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


# -- bounds from the inputs as the backend receives them -------------------------------------------
#
# Laws compare a backend's result with a bound computed from its inputs (|e_j| <= ||v||_1, a convex
# combination lies between the extremes of V, ||J_T ... J_1|| <= ||W||^T). The bound must be computed
# from the inputs the backend actually computed with: see :func:`received_bound`.

#: the unit roundoff u of each dtype (round to nearest: half the spacing of the numbers just above 1)
UNIT_ROUNDOFF: dict[str, float] = {"float32": 2.0**-24, "float64": 2.0**-53}
#: the smallest subnormal number of each dtype, which is also the spacing of all its subnormal numbers
SUBNORMAL_SPACING: dict[str, float] = {"float32": 2.0**-149, "float64": 2.0**-1074}
_NUMPY_DTYPES = {"float32": np.float32, "float64": np.float64}


def _received(x: Any, np_dtype: type) -> Any:
    """``x`` as a backend computing in ``np_dtype`` receives it, returned in float64 (exactly: widening is exact).

    Float arrays and Python/NumPy floats are rounded (to nearest, subnormals kept: float32 0 below 2^-150);
    booleans, integers (indices, counts given as ints, sizes), strings and other objects are passed as they are;
    lists, tuples and dicts are rounded element by element.
    """
    if x is None or isinstance(x, (bool, np.bool_, int, np.integer, str)):
        return x
    if isinstance(x, (float, np.floating)):
        with np.errstate(over="ignore"):
            return float(np_dtype(x))
    if isinstance(x, np.ndarray):
        if x.dtype.kind != "f":
            return x
        with np.errstate(over="ignore"):
            return x.astype(np_dtype).astype(np.float64)
    if isinstance(x, (list, tuple)):
        return type(x)(_received(e, np_dtype) for e in x)
    if isinstance(x, dict):
        return {k: _received(v, np_dtype) for k, v in x.items()}
    return x


@dataclass(frozen=True)
class Bound:
    """A bound for a law, from :func:`received_bound`: its value, and the margin rounding allows beyond it.

    ``upper`` (value + margin) is the most a result bounded above may be; ``lower`` (value - margin) the least a
    result bounded below may be. ``describe`` writes the numbers for a failure's "Expected" line.
    """

    value: np.ndarray
    margin: np.ndarray
    dtype: str
    roundings: int
    what: str = ""
    tol: Tolerance | None = None

    @property
    def upper(self) -> np.ndarray:
        return self.value + self.margin

    @property
    def lower(self) -> np.ndarray:
        return self.value - self.margin

    def describe(self, side: str = "upper") -> str:
        """The bound, the margin and where each comes from, in numbers (``side``: 'upper' or 'lower')."""
        limit = self.upper if side == "upper" else self.lower
        sign = "+" if side == "upper" else "-"
        s = SUBNORMAL_SPACING[self.dtype]
        why = [f"{self.roundings} rounding(s) x (2 u |scale| + {s:.6g}), u = {UNIT_ROUNDOFF[self.dtype]:.6g}"
               f" the unit roundoff and {s:.6g} the smallest subnormal spacing of {self.dtype}"]
        if self.tol is not None:
            why.append(f"+ atol {self.tol.atol:.6g} + rtol {self.tol.rtol:.6g} |scale| (the comparison tolerance)")
        return "\n".join([
            f"{side} bound{' ' + self.what if self.what else ''} = {format_numbers(self.value)}",
            f"  (from the inputs as a {self.dtype} backend receives them: rounded to {self.dtype})",
            f"margin = {format_numbers(self.margin)}",
            "  (" + " ".join(why) + ")",
            f"limit = bound {sign} margin = {format_numbers(limit)}",
        ])


def format_numbers(x: Any) -> str:
    """A number or an array, printed with 9 significant digits (subnormals are not shown as 0)."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        return f"{float(a):.9g}"
    with np.printoptions(precision=9, suppress=False, linewidth=100, threshold=50):
        return np.array2string(a, separator=", ")


def received_bound(dtype: str, bound: Callable[..., Any], inputs: Mapping[str, Any], *, roundings: int = 1,
                   scale: Callable[..., Any] | None = None, tol: Tolerance | None = None, what: str = "") -> Bound:
    """``bound(**inputs)`` computed from the inputs *as a backend of* ``dtype`` *receives them*, with its margin.

    The one helper through which every law and every conditioned tolerance takes a bound from its inputs.

    **Why the received inputs.** A backend of reduced precision never computes with the float64 draw: a
    float32 backend's inputs are rounded to float32 on the way in (``lmverify.convert.to_torch``; a Python
    float argument is rounded to the tensor's dtype inside the operation). A law holds for the numbers the
    backend computed with, not for the draw. Rounding an input moves it by at most u relative (u = 2^-24 in
    float32) where it is normal, which a relative allowance absorbs; but below float32's smallest normal
    number (2^-126 = 1.18e-38) the numbers are spaced evenly by 2^-149 = 1.4e-45, and rounding moves an
    input by up to half that spacing, which relative to a subnormal input is anything up to 1/2. With
    v = 3.18902254e-43 (normal in float64) float32 holds 228 x 2^-149 = 3.1949605e-43, 0.19% larger, and
    the float32 score tanh(4) v = 3.1949605e-43 then exceeds the bound ||v||_1 = 3.189e-43 of the draw although
    it obeys the bound of its own input exactly. So the bound is evaluated (in float64, which holds every
    float32 number exactly) on the inputs rounded to ``dtype``: float arrays and floats are rounded, integers,
    booleans and other objects pass as they are. ``'exact'`` (SymPy) receives the float64 values exactly and its
    results are converted to float64, so it is treated as ``'float64'`` (where receiving changes nothing).

    **The margin.** The law's side computed by the backend is rounded ``roundings`` times on the way from the
    received inputs (count each operation whose result the bound's quantity passes through: a dot product
    of n terms is n roundings). Higham's model with gradual underflow ("Accuracy and Stability of Numerical
    Algorithms", 2.1): fl(a op b) = (a op b)(1 + delta) + eta with |delta| <= u and |eta| <= s/2, s the
    smallest subnormal spacing (2^-149 in float32, 2^-1074 in float64). Over k roundings of quantities of
    magnitude at most S, the error is at most k u S + k s/2 to first order; the margin is twice that,
    ``roundings * (2 u S + s)`` (the factor 2, as on kappa in :func:`conditioned`, for the first-order terms
    and library kernels an ulp off). The absolute term s is the subnormal range handled: where the bound
    scales with a subnormal input, a relative allowance alone is no allowance at all (relative rounding there
    is not bounded by u), and one spacing per rounding is what the model allows. S is ``|bound|`` unless
    ``scale`` (a function of the same inputs) says which magnitude the rounding scales with (the convex
    combination of V's rows rounds relative to max |V|, not to the extreme it is compared with).
    ``roundings=0`` when nothing is rounded after receiving (the bound is then exact, with no margin).

    **A comparison tolerance.** Where the law's side also carries the backend's tolerance against its oracle
    (weights from a float32 softmax sum to one only within it), pass ``tol``: ``tol.atol + tol.rtol * S`` is
    added to the margin. Nothing else widens a bound.

    Used for conditioned tolerances too (``lmverify.check.Check.tolerance``): an equation's kappa is a bound
    on its rounding error computed from its inputs, and it is computed from the received ones with
    ``roundings=0``; the float32 tolerance's atol (1e-5) is then far above any multiple of the subnormal
    spacing, so a tolerance needs no subnormal term of its own.
    """
    d = "float64" if dtype == "exact" else dtype
    if d not in _NUMPY_DTYPES:
        raise ValueError(f"received_bound: unknown dtype {dtype!r}; expected one of {sorted(_NUMPY_DTYPES) + ['exact']}")
    if int(roundings) != roundings or roundings < 0:
        raise ValueError(f"received_bound: roundings must be a whole number >= 0, got {roundings!r}")
    received = {k: _received(v, _NUMPY_DTYPES[d]) for k, v in inputs.items()}
    with np.errstate(all="ignore"):
        value = np.asarray(bound(**received), dtype=np.float64)
        size = np.abs(value) if scale is None else np.abs(np.asarray(scale(**received), dtype=np.float64))
        margin = int(roundings) * (2.0 * UNIT_ROUNDOFF[d] * size + SUBNORMAL_SPACING[d])
        if tol is not None:
            margin = margin + tol.atol + tol.rtol * size
    margin = np.broadcast_to(np.asarray(margin, dtype=np.float64), np.broadcast_shapes(np.shape(margin), value.shape))
    return Bound(value, np.array(margin), d, int(roundings), what, tol)


def mean_of_rows_bound(V: Any, dtype: Any) -> np.ndarray:
    """How far a uniform attention row's output may lie from the mean of V's m rows (per column).

    The student's output is fl(sum_j w V_j) with w = fl(1/m) (its weights were checked to be one value,
    within 2 eps of 1/m), in ``dtype``; the mean is computed here in float64. With u = eps(dtype) / 2, a
    sum of m products errs by at most gamma_m sum_j |w V_j| <= (m u / (1 - m u)) mean|V_j| (Higham, 3.1),
    w by 2 eps relative, and NumPy's float64 mean by gamma_m in float64. So
    (m + 1) eps(dtype) mean_j |V_j| bounds all three for m u < 1/2, with the smallest normal number as the
    absolute floor for a column of zeros."""
    V = np.abs(np.asarray(V, dtype=np.float64))
    m = V.shape[-2]
    eps = float(np.finfo(dtype).eps) if np.issubdtype(np.dtype(dtype), np.floating) else float(np.finfo(np.float64).eps)
    return (m + 1) * eps * V.mean(axis=-2) + np.finfo(np.float64).tiny
