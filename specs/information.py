"""Information theory, SymPy symbolic forms (course page: information_theory.md).

The definitions, exact on rational inputs: a distribution is a 1-D sequence (``sympy.Array``,
list or tuple) of numbers or symbols; a ``sympy.Matrix`` is a batch of rows (one result per
row), except for the mutual-information functions, where the Matrix is the joint p(x, y)
(x along rows, y along columns). ``base=None`` gives nats, ``base=2`` bits.
0 log 0 = 0; cross-entropy and KL are ``oo`` where q = 0 but p > 0.

Derivations the page states, proven here with symbols (tests/test_information_*.py):

* :func:`kl_nonnegativity_proof`: Gibbs' inequality, KL(p || q) >= 0 with equality iff
  q = p, through t - 1 - log t >= 0 (convexity of -log) for n points, and directly for two;
* :func:`cross_entropy_argmin_proof`: H(p, q_theta) and KL(p || q_theta) have the same
  gradient in theta (H(p) has no theta), so the same argmin, q_theta = p;
* :func:`fit_one_mode`: the mode-covering / mode-seeking fit, the objective written
  symbolically in (mu, sigma) and searched on the same grid as the numeric backends.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from reference.numpy.information import PROBABILITY_SUM_TOL, check_not_empty, check_same_outcomes

# -- validation and helpers -----------------------------------------------------------


def _entries(p) -> list:
    if isinstance(p, sp.MatrixBase):
        return list(p)
    if isinstance(p, sp.NDimArray):
        return list(sp.flatten(p.tolist())) if p.rank() > 0 else [p[()]]
    return [sp.sympify(v) for v in p]


def _check_numbers(values: list, name: str, fn: str, total: bool = True) -> None:
    """ValueError naming the argument for NaN / negative mass / a sum other than one (numbers only)."""
    for v in values:
        if v is sp.nan or v.has(sp.nan):
            raise ValueError(f"{fn}: {name} contains NaN where a probability is expected")
        if v.is_number and v.is_infinite:
            raise ValueError(f"{fn}: {name} contains an infinite value where a probability is expected")
        if v.is_number and v.is_negative:
            raise ValueError(f"{fn}: {name} has negative mass ({v})")
    if total and all(v.is_number for v in values):
        s = sum(values, sp.Integer(0))
        # floats arrive as their exact binary Rationals; the threshold is the one of every backend
        if abs(float(s - 1)) > PROBABILITY_SUM_TOL:
            raise ValueError(f"{fn}: {name} must sum to one (within {PROBABILITY_SUM_TOL:g}); its sum is {s}")


def _dist(p, name: str, fn: str) -> list:
    values = _entries(p)
    _check_numbers(values, name, fn)
    return values


def _batched(f, *dists):
    """Apply a one-distribution function row by row when the first argument is a Matrix."""
    if isinstance(dists[0], sp.MatrixBase):
        rows = [[d.row(i) if isinstance(d, sp.MatrixBase) else d for d in dists] for i in range(dists[0].rows)]
        out = [f(*[list(r) if isinstance(r, sp.MatrixBase) else r for r in args]) for args in rows]
        return sp.ImmutableDenseNDimArray(out, (len(out),))
    return f(*dists)


def _log(x, base):
    return sp.log(x) if base is None else sp.log(x) / sp.log(_base(base))


def _base(base):
    b = sp.sympify(base)
    if b.is_number and (not b.is_positive or b == 1 or b.is_infinite):
        raise ValueError(f"base must be a positive number other than 1 (or None for nats), got {base!r}")
    return b


def _xlogy(x, y, base=None):
    """x log y with 0 log y = 0 (even for y = 0), as scipy.special.xlogy."""
    if x.is_zero:
        return sp.Integer(0)
    if y.is_zero:
        return -sp.oo
    return x * _log(y, base)


def _softmax(z) -> list:
    z = _entries(z)
    denom = sum(sp.exp(v) for v in z)
    return [sp.exp(v) / denom for v in z]


def _log_softmax(z) -> list:
    z = _entries(z)
    lse = sp.log(sum(sp.exp(v) for v in z))
    return [v - lse for v in z]


# -- entropy, cross-entropy, KL ---------------------------------------------------------


def entropy(p, base=None):
    """H(X) = -sum_x p(x) log p(x), with 0 log 0 = 0."""
    if base is not None:
        _base(base)

    def one(row):
        p_ = _dist(row, "p", "entropy")
        return -sum((_xlogy(pi, pi, base) for pi in p_), sp.Integer(0))

    return _batched(one, p)


def cross_entropy(p, q, base=None):
    """H(p, q) = -sum_x p(x) log q(x); oo where q = 0 but p > 0."""
    if base is not None:
        _base(base)

    def one(prow, qrow):
        p_, q_ = _dist(prow, "p", "cross_entropy"), _dist(qrow, "q", "cross_entropy")
        check_same_outcomes("cross_entropy", len(p_), len(q_))
        return -sum((_xlogy(pi, qi, base) for pi, qi in zip(p_, q_, strict=True)), sp.Integer(0))

    return _batched(one, p, q)


def kl_divergence(p, q, base=None):
    """D_KL(p || q) = sum_x p(x) log(p(x) / q(x)); oo where q = 0 but p > 0."""
    if base is not None:
        _base(base)

    def one(prow, qrow):
        p_, q_ = _dist(prow, "p", "kl_divergence"), _dist(qrow, "q", "kl_divergence")
        check_same_outcomes("kl_divergence", len(p_), len(q_))
        terms = []
        for pi, qi in zip(p_, q_, strict=True):
            if pi.is_zero:
                continue
            terms.append(sp.oo if qi.is_zero else pi * _log(pi / qi, base))
        return sum(terms, sp.Integer(0))

    return _batched(one, p, q)


def reverse_kl_divergence(p, q, base=None):
    """Reverse KL: D_KL(q || p); oo where p = 0 but q > 0."""
    if base is not None:
        _base(base)

    def one(prow, qrow):
        p_, q_ = _dist(prow, "p", "reverse_kl_divergence"), _dist(qrow, "q", "reverse_kl_divergence")
        check_same_outcomes("reverse_kl_divergence", len(p_), len(q_))
        return kl_divergence(q_, p_, base)

    return _batched(one, p, q)


# -- argmin_theta H(p, q_theta) = argmin_theta KL(p || q_theta) -------------------------------


def _gradient(objective, p, logits):
    def one(prow, zrow):
        p_ = _dist(prow, "p", objective.__name__ + "_gradient")
        z = _entries(zrow)
        theta = sp.symbols(f"theta0:{len(z)}", real=True)
        q = _softmax(theta)
        if objective is cross_entropy:
            expr = -sum(pi * sp.log(qi) for pi, qi in zip(p_, q) if not pi.is_zero)
        else:
            expr = sum(pi * sp.log(pi / qi) for pi, qi in zip(p_, q) if not pi.is_zero)
        subs = dict(zip(theta, z))
        return [sp.diff(expr, t).subs(subs) for t in theta]

    if isinstance(p, sp.MatrixBase):
        return sp.Matrix([one(list(p.row(i)), list(sp.Matrix(logits).row(i))) for i in range(p.rows)])
    g = one(p, logits)
    return sp.ImmutableDenseNDimArray(g, (len(g),))


def cross_entropy_gradient(p, logits):
    """d/d theta_i of H(p, softmax(theta)), by sp.diff, at the given logits."""
    return _gradient(cross_entropy, p, logits)


def kl_divergence_gradient(p, logits):
    """d/d theta_i of KL(p || softmax(theta)), by sp.diff, at the given logits."""
    return _gradient(kl_divergence, p, logits)


def cross_entropy_argmin_proof(n: int) -> dict:
    """With symbols p_i > 0 and theta_i: grad H(p, q_theta) - grad KL(p || q_theta) = 0 identically,
    and grad H = q - p when sum p = 1, so both vanish exactly at q_theta = p (theta = log p + c)."""
    p = sp.symbols(f"p0:{n}", positive=True)
    theta = sp.symbols(f"theta0:{n}", real=True)
    q = _softmax(theta)
    H_pq = -sum(pi * sp.log(qi) for pi, qi in zip(p, q))
    KL = sum(pi * sp.log(pi / qi) for pi, qi in zip(p, q))
    difference = [sp.simplify(sp.expand_log(sp.diff(H_pq - KL, t), force=True)) for t in theta]
    last = 1 - sum(p[:-1])  # sum p = 1
    grad_H = [sp.simplify((sp.diff(H_pq, t) - (qi - pi)).subs(p[-1], last)) for t, qi, pi in zip(theta, q, p)]
    at_p = {t: sp.log(pi) for t, pi in zip(theta, p)}
    grad_at_p = [sp.simplify(sp.diff(H_pq, t).subs(at_p).subs(p[-1], last)) for t in theta]
    return {"gradient_difference": difference, "gradient_minus_q_minus_p": grad_H, "gradient_at_q_equal_p": grad_at_p,
            "H_p_depends_on_theta": any(sp.diff(-sum(pi * sp.log(pi) for pi in p), t) != 0 for t in theta)}


def kl_nonnegativity_proof(n: int) -> dict:
    """Gibbs' inequality for n-point distributions, through the convexity of -log.

    With g(t) = t - 1 - log t: g'' = 1/t^2 > 0 (convex), g'(1) = 0, g(1) = 0, so g >= 0 with
    equality only at t = 1; and KL(p || q) = sum_i p_i g(q_i / p_i) + (sum p - sum q) identically,
    which is sum_i p_i g(q_i / p_i) >= 0 when both sum to one, zero iff q_i = p_i for all i.
    For n = 2 it also checks the direct argument: f(b) = KL((a, 1-a) || (b, 1-b)) has f(a) = 0 and
    f'(b) = (b - a) / (b (1 - b)), negative below a and positive above.
    """
    t = sp.Symbol("t", positive=True)
    g = t - 1 - sp.log(t)
    p = sp.symbols(f"p0:{n}", positive=True)
    q = sp.symbols(f"q0:{n}", positive=True)
    KL = sum(pi * sp.log(pi / qi) for pi, qi in zip(p, q))
    identity = sp.simplify(sp.expand_log(KL - sum(pi * g.subs(t, qi / pi) for pi, qi in zip(p, q))
                                         - (sum(p) - sum(q)), force=True))
    facts = {
        "neg_log_second_derivative_positive": bool(sp.diff(-sp.log(t), t, 2).is_positive),
        "g_second_derivative_positive": bool(sp.diff(g, t, 2).is_positive),
        "g_stationary_points": sp.solve(sp.diff(g, t), t),
        "g_at_1": g.subs(t, 1),
        "identity_residual": identity,
    }
    if n == 2:
        a, b = sp.symbols("a b", positive=True)
        f = a * sp.log(a / b) + (1 - a) * sp.log((1 - a) / (1 - b))
        facts["two_point_at_equality"] = sp.simplify(f.subs(b, a))
        facts["two_point_derivative_residual"] = sp.simplify(sp.diff(f, b) - (b - a) / (b * (1 - b)))
    return facts


# -- mode covering versus mode seeking --------------------------------------------------


def fit_one_mode(p, x, direction="forward"):
    """Fit q_{mu,sigma}(x_j) ~ exp(-(x_j - mu)^2 / (2 sigma^2)) to p by forward KL(p || q) or reverse
    KL(q || p). The objective is written symbolically in (mu, sigma), in log space, and evaluated at
    50 digits (mpmath, no underflow) on the numeric backends' grid: mu every quarter step between
    min x and max x, 24 log-spaced sigmas from a quarter step to the span. Returns (mu, sigma, q, objective).
    """
    p_ = _dist(p, "p", "fit_one_mode")
    if direction not in ("forward", "reverse"):
        raise ValueError(f"fit_one_mode: direction must be 'forward' or 'reverse', got {direction!r}")
    xs = _entries(x)
    mu, s = sp.Symbol("mu", real=True), sp.Symbol("sigma", positive=True)
    L = [-((xj - mu) ** 2) / (2 * s**2) for xj in xs]
    logZ = sp.log(sum(sp.exp(l) for l in L))
    if direction == "forward":
        objective = sum(pj * (sp.log(pj) - l + logZ) for pj, l in zip(p_, L) if not pj.is_zero)
    elif any(pj.is_zero for pj in p_):
        objective = sp.oo  # q > 0 everywhere, so q log(q / 0) = oo for every candidate
    else:
        objective = sum(sp.exp(l - logZ) * (l - logZ - sp.log(pj)) for pj, l in zip(p_, L))
    lo, hi, n = min(xs), max(xs), len(xs)
    span = hi - lo
    step = span / (n - 1)
    mus = [lo + k * step / 4 for k in range(4 * (n - 1) + 1)]
    sigmas = [step / 4 * (span / (step / 4)) ** sp.Rational(k, 23) for k in range(24)]
    with mpmath.workdps(50):
        f = sp.lambdify((mu, s), objective, modules="mpmath", cse=True) if objective != sp.oo else None
        best = None
        for m_ in mus:
            for s_ in sigmas:
                v = mpmath.inf if f is None else f(mpmath.mpf(sp.N(m_, 50)), mpmath.mpf(sp.N(s_, 50)))
                if best is None or v < best[0]:
                    best = (v, m_, s_)
    v, m_, s_ = best
    w = [sp.exp(l.subs({mu: m_, s: s_})) for l in L]
    q = [wi / sum(w) for wi in w]
    return m_, s_, sp.ImmutableDenseNDimArray(q, (n,)), sp.Float(v, 50) if v != mpmath.inf else sp.oo


# -- perplexity ---------------------------------------------------------------------------


def average_nll(q_true, base=None):
    """H_hat = -(1/T) sum_t log q(w_t | w_<t)."""
    q = _entries(q_true)
    check_not_empty("average_nll", "q_true", len(q))
    if any(v is sp.nan or v.has(sp.nan) or (v.is_number and (v.is_negative or v > 1)) for v in q):
        raise ValueError("average_nll: q_true must be probabilities in [0, 1] (no NaN)")
    return -sum((-sp.oo if v.is_zero else _log(v, base) for v in q), sp.Integer(0)) / len(q)


def perplexity(nll, base=None):
    """PPL = exp(mean NLL) for NLLs in nats; base ** (mean NLL) for NLLs in that base."""
    ell = _entries(nll)
    check_not_empty("perplexity", "nll", len(ell))
    if any(v is sp.nan or v.has(sp.nan) or (v.is_number and v.is_negative) for v in ell):
        raise ValueError("perplexity: nll must be non-negative negative log-likelihoods (no NaN)")
    mean = sum(ell, sp.Integer(0)) / len(ell)
    return sp.exp(mean) if base is None else _base(base) ** mean


# -- mutual information ---------------------------------------------------------------------


def _joint(pxy, fn):
    P = sp.Matrix(pxy)
    _check_numbers(list(P), "pxy", fn)
    return P


def mutual_information(pxy, base=None):
    """I(X; Y) = D_KL(p(x, y) || p(x) p(y)), x along rows, y along columns."""
    P = _joint(pxy, "mutual_information")
    px = [sum(P.row(i)) for i in range(P.rows)]
    py = [sum(P.col(j)) for j in range(P.cols)]
    return sum((P[i, j] * _log(P[i, j] / (px[i] * py[j]), base) for i in range(P.rows) for j in range(P.cols)
                if not P[i, j].is_zero), sp.Integer(0))


def conditional_entropy(pxy, base=None):
    """H(X | Y) = -sum_{x,y} p(x, y) log p(x | y), p(x | y) = p(x, y) / p(y)."""
    P = _joint(pxy, "conditional_entropy")
    py = [sum(P.col(j)) for j in range(P.cols)]
    return -sum((P[i, j] * _log(P[i, j] / py[j], base) for i in range(P.rows) for j in range(P.cols)
                 if not P[i, j].is_zero), sp.Integer(0))


def mutual_information_from_entropies(pxy, base=None):
    """I(X; Y) = H(X) - H(X | Y)."""
    P = _joint(pxy, "mutual_information_from_entropies")
    px = [sum(P.row(i)) for i in range(P.rows)]
    return entropy(px, base) - conditional_entropy(P, base)


# -- Jensen-Shannon -------------------------------------------------------------------------


def jensen_shannon_divergence(p, q, base=None):
    """JSD(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2."""

    def one(prow, qrow):
        p_ = _dist(prow, "p", "jensen_shannon_divergence")
        q_ = _dist(qrow, "q", "jensen_shannon_divergence")
        check_same_outcomes("jensen_shannon_divergence", len(p_), len(q_))
        m = [(a + b) / 2 for a, b in zip(p_, q_, strict=True)]
        return sp.Rational(1, 2) * kl_divergence(p_, m, base) + sp.Rational(1, 2) * kl_divergence(q_, m, base)

    return _batched(one, p, q)


# -- label smoothing ------------------------------------------------------------------------


def label_smoothing_targets(target, num_classes, epsilon, convention="page"):
    """'page': 1 - eps on the target, eps/(K-1) elsewhere; 'torch': (1 - eps) one-hot + eps/K."""
    fn = "label_smoothing_targets"
    eps = sp.sympify(epsilon)
    K = int(num_classes)
    if K != num_classes or K < 2:
        raise ValueError(f"{fn}: num_classes must be an integer >= 2, got {num_classes!r}")
    if eps.is_number and not (0 <= eps <= 1):
        raise ValueError(f"{fn}: epsilon must be in [0, 1], got {epsilon!r}")
    if convention not in ("page", "torch"):
        raise ValueError(f"{fn}: convention must be 'page' (eps/(K-1) off-target) or 'torch' (eps/K), "
                         f"got {convention!r}")
    scalar = not isinstance(target, (list, tuple, sp.NDimArray, sp.MatrixBase))
    targets = [target] if scalar else _entries(target)
    rows = []
    for t in targets:
        if int(t) != t or not 0 <= int(t) < K:
            raise ValueError(f"{fn}: target {t!r} out of range for num_classes={K} (a class index in [0, {K}))")
        if convention == "page":
            rows.append([1 - eps if k == int(t) else eps / (K - 1) for k in range(K)])
        else:
            rows.append([(1 - eps if k == int(t) else 0) + eps / K for k in range(K)])
    return sp.ImmutableDenseNDimArray(rows[0], (K,)) if scalar else sp.Matrix(rows)


# -- RLHF, Bradley-Terry, DPO ---------------------------------------------------------------


def rlhf_kl_penalty(policy_logits, reference_logits, beta):
    """-beta E_x[ D_KL(pi_theta(.|x) || pi_ref(.|x)) ], softmax policies; E is the mean over rows."""
    beta = sp.sympify(beta)
    if beta.is_number and beta.is_negative:
        raise ValueError(f"rlhf_kl_penalty: beta must be >= 0, got {beta}")
    if isinstance(policy_logits, sp.MatrixBase):
        R = sp.Matrix(reference_logits)
        rows = [(list(policy_logits.row(i)), list(R.row(i))) for i in range(policy_logits.rows)]
    else:
        rows = [(_entries(policy_logits), _entries(reference_logits))]
    kls = []
    for z, r in rows:
        log_pi, log_ref = _log_softmax(z), _log_softmax(r)
        kls.append(sum(sp.exp(a) * (a - b) for a, b in zip(log_pi, log_ref, strict=True)))
    return -beta * sum(kls) / len(kls)


def _elementwise(f, *args):
    if any(isinstance(a, (sp.NDimArray, sp.MatrixBase, list, tuple)) for a in args):
        cols = [_entries(a) if isinstance(a, (sp.NDimArray, sp.MatrixBase, list, tuple)) else None for a in args]
        n = len(next(c for c in cols if c is not None))
        vals = [f(*[c[i] if c is not None else sp.sympify(a) for c, a in zip(cols, args)]) for i in range(n)]
        return sp.ImmutableDenseNDimArray(vals, (n,))
    return f(*[sp.sympify(a) for a in args])


def bradley_terry(r1, r2):
    """P(response 1 preferred to response 2) = sigma(r1 - r2) = 1 / (1 + exp(-(r1 - r2)))."""
    return _elementwise(lambda a, b: 1 / (1 + sp.exp(-(a - b))), r1, r2)


def dpo_loss(policy_chosen_logp, policy_rejected_logp, reference_chosen_logp, reference_rejected_logp, beta):
    """-log sigma(beta [(log pi(y_w|x) - log pi_ref(y_w|x)) - (log pi(y_l|x) - log pi_ref(y_l|x))]), per pair."""
    beta = sp.sympify(beta)
    if beta.is_number and not beta.is_positive:
        raise ValueError(f"dpo_loss: beta must be > 0, got {beta}")
    return _elementwise(lambda pc, pr, rc, rr: -sp.log(1 / (1 + sp.exp(-beta * ((pc - rc) - (pr - rr))))),
                        policy_chosen_logp, policy_rejected_logp, reference_chosen_logp, reference_rejected_logp)
