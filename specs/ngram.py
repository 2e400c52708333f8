"""SymPy forms of the ngram topic (language_modeling_basics.md): exact definitions and proofs.

Same function names and parameters as ``reference/numpy/ngram.py`` and
``reference/torch/ngram.py``. Inputs arrive as SymPy numbers, ``Matrix`` or
``ImmutableDenseNDimArray`` (exact Rationals); the computations run on NumPy
object arrays of SymPy numbers, so every arithmetic step is exact, and results
come back as SymPy arrays.

The ``prove_*`` functions are the symbolic proofs: they build the expression for
a symbolic count table and return the simplified quantity that must be 1 (or the
limit), so a test asserts it equals exactly what the law says.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from reference.numpy.information import PROBABILITY_SUM_TOL

# -- exact arrays -----------------------------------------------------------------------


def _obj(x) -> np.ndarray:
    """A NumPy object array of SymPy numbers from a SymPy/NumPy/Python value."""
    if isinstance(x, sp.MatrixBase):
        return np.array(x.tolist(), dtype=object).reshape(x.shape)
    if isinstance(x, sp.NDimArray):
        if x.rank() == 0:
            return np.array(sp.sympify(x[()]), dtype=object)
        return np.array(sp.flatten(x.tolist()), dtype=object).reshape(x.shape)
    a = np.asarray(x, dtype=object)
    return np.vectorize(sp.nsimplify, otypes=[object])(a) if a.size else a


def _out(a):
    a = np.asarray(a, dtype=object)
    if a.ndim == 0:
        return sp.sympify(a.item())
    return sp.ImmutableDenseNDimArray([sp.simplify(v) for v in a.ravel()], a.shape)


#: elementwise n / d with 0 / 0 (and n / 0) taken as 0: the convention for contexts never seen
_div0 = np.frompyfunc(lambda n, d: n / d if d != 0 else sp.Integer(0), 2, 1)


def _check_probabilities(p: np.ndarray, name: str) -> None:
    """ValueError naming ``name`` for NaN or an entry outside [0, 1 + PROBABILITY_SUM_TOL] (the numeric forms' threshold)."""
    for v in p.ravel():
        if v is sp.nan or v.has(sp.nan):
            raise ValueError(f"{name} contains NaN; expected probabilities in [0, 1]")
        if v.is_real is False or v.is_negative or (v - 1 - sp.Float(PROBABILITY_SUM_TOL)).is_positive:
            raise ValueError(f"{name} must hold probabilities in [0, 1], got {v}")


# -- chain rule ---------------------------------------------------------------------------


def chain_rule_joint(conditionals):
    """P(w_1..w_T) = prod_t P(w_t | w_<t), exactly."""
    c = _obj(conditionals)
    _check_probabilities(c, "conditionals")
    return _out(np.prod(c, axis=-1))


def sequence_conditionals(joint):
    """cond[t][w_1..w_T] = P(w_{t+1} | w_1..w_t) from the joint table (0 where the prefix has probability 0)."""
    j = _obj(joint)
    _check_probabilities(j, "joint")
    T = j.ndim
    out = []
    for t in range(T):
        num = j.sum(axis=tuple(range(t + 1, T)), keepdims=True) if t + 1 < T else j
        den = j.sum(axis=tuple(range(t, T)), keepdims=True)
        out.append(np.broadcast_to(_div0(num, den), j.shape))
    return _out(np.stack(out))


def markov_conditionals(joint, order):
    """Factors P(w_t | the previous ``order`` words) of the joint table."""
    j = _obj(joint)
    _check_probabilities(j, "joint")
    T = j.ndim
    out = []
    for t in range(T):
        lo = max(0, t - int(order))
        drop = tuple(i for i in range(T) if not lo <= i <= t)
        marg = j.sum(axis=drop, keepdims=True) if drop else j
        den = marg.sum(axis=t, keepdims=True)
        out.append(np.broadcast_to(_div0(marg, den), j.shape))
    return _out(np.stack(out))


# -- maximum likelihood and smoothing ------------------------------------------------------------


def unigram_mle(counts):
    """P(w) = count(w) / sum_w count(w)."""
    c = _obj(counts)
    return _out(c / c.sum(axis=-1, keepdims=True))


def ngram_mle(counts, context_counts):
    """P(w | h) = count(h, w) / count(h) (0 where count(h) = 0)."""
    c = _obj(counts)
    d = _obj(context_counts)[..., None]
    return _out(_div0(c, np.broadcast_to(d, c.shape)))


def add_k(counts, context_counts, k, vocab_size):
    """P(w | h) = (count(h, w) + k) / (count(h) + k V)."""
    c = _obj(counts)
    d = _obj(context_counts)[..., None]
    k = sp.nsimplify(k)
    return _out((c + k) / (d + k * sp.Integer(int(vocab_size))))


def interpolate(probabilities, weights):
    """sum_i lambda_i P_i with the lambdas on the simplex."""
    p = _obj(probabilities)
    w = _obj(weights)
    if w.ndim != 1 or w.shape[0] != p.shape[0]:
        raise ValueError(f"weights must have one entry per order ({p.shape[0]}), got shape {w.shape}")
    # floats such as 0.6, 0.3, 0.1 arrive as their exact binary values, which sum to 1 only
    # within 2**-53; the threshold is the numeric forms' PROBABILITY_SUM_TOL
    if any(v.is_negative for v in w) or abs(sp.simplify(sum(w) - 1)) > PROBABILITY_SUM_TOL:
        raise ValueError(f"weights must be on the simplex (non-negative, summing to 1), got {list(w)}")
    return _out(sum(w[i] * p[i] for i in range(p.shape[0])))


def backoff_literal(probabilities, counts):
    """The page's backoff rule literally: the highest order with a non-zero count, no renormalisation."""
    p = _obj(probabilities)
    c = _obj(counts)
    out = p[-1].copy()
    for i in range(p.shape[0] - 2, -1, -1):
        out = np.where(np.vectorize(lambda v: bool(v > 0))(c[i]), p[i], out)
    return _out(out)


# -- perplexity ------------------------------------------------------------------------------------


def sequence_perplexity(log_probs):
    """PPL = exp(-(1/T) sum_t log p_t) from natural-log probabilities."""
    lp = _obj(log_probs)
    T = lp.shape[-1]
    return _out(np.vectorize(sp.exp, otypes=[object])(-lp.sum(axis=-1) / T))


def cross_entropy_bits(log_probs):
    """-(1/T) sum_t log2 p_t from natural-log probabilities."""
    lp = _obj(log_probs)
    T = lp.shape[-1]
    return _out(-lp.sum(axis=-1) / (T * sp.log(2)))


# -- Kneser-Ney --------------------------------------------------------------------------------------


def kneser_ney_discounts(counts_of_counts):
    """D1, D2, D3+ = k - (k+1) Y n_{k+1}/n_k with Y = n1/(n1 + 2 n2) (Chen & Goodman)."""
    n = _obj(counts_of_counts)
    if n.shape[-1] != 4:
        raise ValueError(f"counts_of_counts must be (n1, n2, n3, n4), got shape {n.shape}")
    n1, n2, n3, n4 = (n[..., i] for i in range(4))
    Y = n1 / (n1 + 2 * n2)
    return _out(np.stack([1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3], axis=-1))


def continuation_counts(counts):
    """N1+(. w_2..w_k): the number of distinct first words with a non-zero count."""
    c = _obj(counts)
    return _out(np.vectorize(lambda v: sp.Integer(1 if v > 0 else 0), otypes=[object])(c).sum(axis=0))


def _discount(a, D1, D2, D3):
    if a <= 0:
        return sp.Integer(0)
    return D1 if a < 2 else D2 if a < 3 else D3


def kneser_ney_interpolate(counts, lower, discounts):
    """p(w|h) = (a(hw) - D(a(hw)))/sum_x a(hx) + gamma(h) p(w|h'), gamma(h) = sum_x D(a(hx))/sum_x a(hx)."""
    a = _obj(counts)
    q = _obj(lower)
    D1, D2, D3 = _obj(discounts)
    d = np.vectorize(lambda v: _discount(v, D1, D2, D3), otypes=[object])(a)
    total = a.sum(axis=-1, keepdims=True)
    gamma = _div0(d.sum(axis=-1, keepdims=True), total)
    gamma = np.where(np.vectorize(lambda v: bool(v == 0))(total), sp.Integer(1), gamma)
    return _out(_div0(a - d, np.broadcast_to(total, a.shape)) + gamma * q)


# -- proofs --------------------------------------------------------------------------------------------


def prove_add_k_normalises(vocab_size: int):
    """sum_w (c_w + k)/(C + kV) with C = sum_w c_w, for symbolic counts c_w >= 0 and k > 0: simplifies to 1."""
    V = int(vocab_size)
    k = sp.Symbol("k", positive=True)
    c = sp.symbols(f"c0:{V}", nonnegative=True)
    C = sum(c)
    return sp.simplify(sum((ci + k) / (C + k * V) for ci in c))


def prove_add_k_uniform_limit(vocab_size: int):
    """lim_{k -> oo} (c_w + k)/(C + kV) for symbolic counts: 1/V for every word (the uniform distribution)."""
    V = int(vocab_size)
    k = sp.Symbol("k", positive=True)
    c = sp.symbols(f"c0:{V}", nonnegative=True)
    C = sum(c)
    return [sp.limit((ci + k) / (C + k * V), k, sp.oo) for ci in c]


def prove_kneser_ney_normalisation(vocab_size: int):
    """sum_w p(w|h) for one Kneser-Ney interpolation step with a symbolic count table.

    Counts a_w > 0 (seen words; unseen words have a = 0 and discount 0, so they only
    contribute gamma(h) q_w), discounts d_w (any values; D1/D2/D3+ by count class in
    practice), and a lower-order distribution q with sum q = 1 (the last entry is 1 minus
    the others). Returns the simplified sum, which must be exactly 1.
    """
    V = int(vocab_size)
    a = sp.symbols(f"a0:{V}", positive=True)
    d = sp.symbols(f"d0:{V}", nonnegative=True)
    q = list(sp.symbols(f"q0:{V - 1}", nonnegative=True))
    q.append(1 - sum(q))
    total = sum(a)
    gamma = sum(d) / total
    return sp.simplify(sum((a[i] - d[i]) / total + gamma * q[i] for i in range(V)))
