"""Cross-entropy, KL (forward, reverse, Gibbs), Jensen-Shannon, and argmin H = argmin KL (information_theory.md).

Agreement with the oracle, signatures, pinned extremes, batching, gradients, refused inputs and
known mistakes (swapped arguments, the wrong log base, a symmetrised KL for the JSD) are generated
from lmverify/registry/information.py (tests/test_equations.py). Here: the laws (Gibbs, KL >= 0 and
Pinsker, asymmetry, the failed triangle inequality, JSD bounds and the metric sqrt(JSD)), the SymPy
proofs, the mode-covering / mode-seeking fits, and the oracles scipy.special.rel_entr / kl_div,
scipy.spatial.distance.jensenshannon, torch.nn.functional.kl_div / cross_entropy and
torch.distributions.kl_divergence.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from lmverify import strategies as S
from lmverify.backends import Backend
from lmverify.check import Check

BASES = st.sampled_from([None, 2.0])

# ---------------------------------------------------------------- cross-entropy


@pytest.mark.numeric
@pytest.mark.equation("information.cross_entropy")
@given(dists=S.distribution_batches(count=2, batch=True))
def test_cross_entropy_gibbs_inequality(check, dists):
    """H(p, q) >= H(p), with equality at q = p."""
    p, q = dists
    tol = check.tol
    h = check.call("entropy", p=p)
    ce = check.call(p=p, q=q)
    check.law(ce >= h - tol.atol - tol.rtol * np.abs(h), "H(p, q) >= H(p) (Gibbs)", got=ce, expected=h)
    check.close(check.call(p=p, q=p), h, what="H(p, p)", expected_from="H(p)")


@pytest.mark.equation("information.cross_entropy")
@pytest.mark.parametrize("p,q,infinite", [
    ([0.5, 0.5], [1.0, 0.0], True),          # q = 0 where p > 0
    ([1.0, 0.0], [1.0, 0.0], False),         # q = 0 only where p = 0: 0 log 0 = 0
    ([0.0, 1.0, 0.0], [0.5, 0.5, 0.0], False),
    ([0.25, 0.25, 0.5], [0.0, 0.5, 0.5], True),
])
def test_cross_entropy_and_kl_infinite_not_nan_where_q_is_zero(check, p, q, infinite):
    p, q = np.array(p), np.array(q)
    for name in ("cross_entropy", "kl_divergence"):
        got = float(check.call(name, p=p, q=q))
        check.law(not math.isnan(got) and math.isinf(got) == infinite,
                  f"{name} is inf exactly when q = 0 somewhere p > 0 (never NaN)", got=got,
                  expected="inf" if infinite else "finite")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.cross_entropy")
@given(dists=S.distribution_batches(batch=True), data=st.data())
def test_cross_entropy_matches_torch_probability_targets(check, dists, data):
    """F.cross_entropy(logits, target=p) with probability targets is H(p, softmax(logits))."""
    (p,) = dists
    z = data.draw(S.arrays(p.shape), label="logits")
    q = scipy.special.softmax(z, axis=-1)
    n = p.shape[-1]
    expected = F.cross_entropy(torch.tensor(z).reshape(-1, n), torch.tensor(p).reshape(-1, n), reduction="none")
    check.close(check.call(p=p, q=q), expected.reshape(p.shape[:-1]).numpy(),
                expected_from="torch.nn.functional.cross_entropy(logits, p) (probability targets)")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.cross_entropy_one_hot", "information.cross_entropy_one_hot_fish")
@given(logits=S.logits(max_len=5), data=st.data())
def test_cross_entropy_one_hot_is_negative_log_of_true_token(check, logits, data):
    """With a one-hot p the sum has one term, -log q(w*): F.cross_entropy with class indices."""
    rows, n = logits.shape
    y = np.array([data.draw(st.integers(0, n - 1)) for _ in range(rows)])
    q = scipy.special.softmax(logits, axis=-1)
    got = check.call(p=np.eye(n)[y], q=q)
    check.close(got, -np.log(q[np.arange(rows), y]), expected_from="-log q(true token)")
    check.close(got, F.cross_entropy(torch.tensor(logits), torch.tensor(y), reduction="none").numpy(),
                expected_from="torch.nn.functional.cross_entropy(logits, class indices)")


# ---------------------------------------------------------------- KL divergence


@pytest.mark.numeric
@pytest.mark.equation("information.kl_divergence")
@given(dists=S.distribution_batches(count=2, batch=True), base=BASES)
def test_kl_divergence_is_cross_entropy_minus_entropy(check, dists, base):
    p, q = dists
    gap = check.call("cross_entropy", p=p, q=q, base=base) - check.call("entropy", p=p, base=base)
    check.close(check.call(p=p, q=q, base=base), gap, expected_from="H(p, q) - H(p)")


@pytest.mark.numeric
@pytest.mark.equation("information.kl_divergence")
@given(dists=S.distribution_batches(count=2, batch=True))
def test_kl_divergence_non_negative_and_zero_iff_equal(check, dists):
    p, q = dists
    tol = check.tol
    kl = check.call(p=p, q=q)
    check.within(kl, "KL(p || q) >= 0", lower=check.bound(lambda: 0.0, roundings=0, tol=tol, what="0"))
    # 2 TV(p, q)^2 of the p and q the backend received (rounded to its dtype); KL carries its tolerance
    pinsker = check.bound(lambda p, q: 2 * (0.5 * np.abs(p - q).sum(axis=-1)) ** 2, p=p, q=q, roundings=0, tol=tol,
                          what="2 TV(p, q)^2")
    check.within(kl, "Pinsker: KL(p || q) >= 2 TV(p, q)^2, so KL > 0 whenever p != q", lower=pinsker)
    check.close(check.call(p=p, q=p), np.zeros(p.shape[:-1]), what="KL(p || p)", expected_from="0")


@pytest.mark.equation("information.kl_forward_reverse")
def test_kl_is_not_symmetric(check):
    """An example: p = (1/2, 1/2), q = (9/10, 1/10): KL(p || q) != KL(q || p)."""
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    forward = float(check.call("kl_divergence", p=p, q=q))
    swapped = check.call("kl_divergence", p=q, q=p)
    reverse = float(check.call(p=p, q=q))
    check.close(reverse, swapped, what="reverse KL", expected_from="KL(q || p)")
    check.law(abs(forward - reverse) > 0.1, "KL is not symmetric: KL(p || q) != KL(q || p)", got=(forward, reverse))


@pytest.mark.equation("information.kl_two_point_example")
def test_kl_divergence_two_point_example_is_sum_of_printed_terms(check):
    """Line 112: KL([0.5, 0.5] || [0.6, 0.4]) = 0.5 log(0.5/0.6) + 0.5 log(0.5/0.4) (exact in SymPy)."""
    p, q = np.array([0.5, 0.5]), np.array([0.6, 0.4])
    half, r6, r4 = (sp.Rational(x) for x in (0.5, 0.6, 0.4))  # the exact binary values the backends receive
    expected = half * sp.log(half / r6) + half * sp.log(half / r4)
    check.close(check.call(p=p, q=q), float(sp.N(expected, 30)),
                expected_from="0.5 log(0.5/0.6) + 0.5 log(0.5/0.4) (SymPy)")


@pytest.mark.numeric
@pytest.mark.equation("information.kl_divergence")
def test_kl_triangle_inequality_fails(check):
    """The page's interview answer (line 326): KL is not a metric; here KL(p||r) > KL(p||q) + KL(q||r)."""
    p, q, r = np.array([0.9, 0.1]), np.array([0.5, 0.5]), np.array([0.1, 0.9])
    kl = lambda a, c: float(check.call(p=a, q=c))  # noqa: E731
    direct, detour = kl(p, r), kl(p, q) + kl(q, r)
    check.inputs = {"p": p, "q": q, "r": r}
    check.law(direct > detour, "a counterexample to the triangle inequality for KL", got=(direct, detour))


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.kl_divergence")
@given(dists=S.distribution_batches(count=2, batch=True))
def test_kl_divergence_matches_scipy_rel_entr_and_kl_div(check, dists):
    """scipy.special.rel_entr(p, q) = p log(p/q); kl_div(p, q) = p log(p/q) - p + q (same sum for distributions)."""
    p, q = dists
    got = check.call(p=p, q=q)
    check.close(got, scipy.special.rel_entr(p, q).sum(-1), expected_from="scipy.special.rel_entr(p, q).sum(-1)")
    check.close(got, scipy.special.kl_div(p, q).sum(-1), expected_from="scipy.special.kl_div(p, q).sum(-1)")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.kl_divergence", "information.kl_forward_reverse")
@given(dists=S.distribution_batches(count=2, full_support=True, batch=True))
def test_kl_divergence_matches_torch_kl_div_argument_order(check, dists):
    """F.kl_div(input, target) = sum target (log target - input): input is LOG q, target is p, so it is
    KL(p || q) - the reverse of the mathematical argument order. log_target=True takes log p."""
    p, q = dists
    P, Q = torch.tensor(p), torch.tensor(q)
    cases = {
        "F.kl_div(q.log(), p).sum(-1)": F.kl_div(Q.log(), P, reduction="none").sum(-1),
        "F.kl_div(q.log(), p.log(), log_target=True).sum(-1)": F.kl_div(Q.log(), P.log(), reduction="none",
                                                                         log_target=True).sum(-1),
        "torch.distributions.kl_divergence(Categorical(p), Categorical(q))": torch.distributions.kl_divergence(
            torch.distributions.Categorical(probs=P), torch.distributions.Categorical(probs=Q)),
    }
    forward = check.call(p=p, q=q)
    for what, expected in cases.items():
        check.close(forward, expected.numpy(), what="KL(p || q)", expected_from=what)
    check.close(check.call("reverse_kl_divergence", p=p, q=q), F.kl_div(P.log(), Q, reduction="none").sum(-1).numpy(),
                what="reverse KL(q || p)", expected_from="F.kl_div(p.log(), q) (arguments swapped)")


@pytest.mark.symbolic
@pytest.mark.equation("information.kl_nonnegativity")
@pytest.mark.parametrize("n", [2, 3])
def test_kl_nonnegativity_symbolic_proof(n):
    """Gibbs' inequality through the convexity of -log (the page's Jensen sketch), for n = 2 and 3."""
    from specs.information import kl_nonnegativity_proof

    facts = kl_nonnegativity_proof(n)
    assert facts["neg_log_second_derivative_positive"], "-log t must be convex on t > 0"
    assert facts["g_second_derivative_positive"] and facts["g_stationary_points"] == [1] and facts["g_at_1"] == 0, (
        "g(t) = t - 1 - log t must be convex with its only stationary point, value 0, at t = 1")
    assert facts["identity_residual"] == 0, f"KL - sum p g(q/p) - (sum p - sum q) = {facts['identity_residual']}"
    if n == 2:
        assert facts["two_point_at_equality"] == 0
        assert facts["two_point_derivative_residual"] == 0


@pytest.mark.equation("information.kl_nonnegativity")
@given(dists=S.distribution_batches(count=2, full_support=True))
def test_kl_nonnegativity_jensen_bound_term_by_term(check, dists):
    """KL(p || q) = sum p g(q/p) with g(t) = t - 1 - log t >= 0: every term of the sum is >= 0."""
    p, q = dists
    terms = p * (q / p - 1 - np.log(q / p))
    kl = float(check.call(p=p, q=q))
    check.law(terms >= 0, "p g(q/p) >= 0 term by term", got=terms)
    check.close(kl, terms.sum(), expected_from="sum_x p g(q/p)")


# ---------------------------------------------------------------- argmin H(p, q_theta) = argmin KL(p || q_theta)


@pytest.mark.equation("information.cross_entropy_argmin")
@given(dists=S.distribution_batches(max_len=4), data=st.data())
def test_cross_entropy_argmin_kl_gradient_matches_oracle(check, dists, data):
    """The generic test checks cross_entropy_gradient; its twin kl_divergence_gradient here."""
    (p,) = dists
    check.agree("kl_divergence_gradient", p=p, logits=data.draw(S.arrays(p.shape, exact=True), label="logits"))


@pytest.mark.numeric
@pytest.mark.equation("information.cross_entropy_argmin")
@given(dists=S.distribution_batches(batch=True), data=st.data())
def test_cross_entropy_and_kl_gradients_are_equal_and_vanish_at_q_equal_p(check, dists, data):
    """Same gradient, so the same minimiser; it is q - p, zero exactly at softmax(theta) = p."""
    (p,) = dists
    z = data.draw(S.arrays(p.shape), label="logits")
    g_kl = check.call("kl_divergence_gradient", p=p, logits=z)
    g_ce = check.call(p=p, logits=z)
    check.close(g_kl, g_ce, what="grad KL(p || q_theta)", expected_from="grad H(p, q_theta)")
    check.close(g_ce, scipy.special.softmax(z, axis=-1) - p, expected_from="softmax(theta) - p")
    # autograd of torch's own loss (probability targets) is the oracle for the gradient
    zt = torch.tensor(z).reshape(-1, p.shape[-1]).requires_grad_(True)
    F.cross_entropy(zt, torch.tensor(p).reshape(-1, p.shape[-1]), reduction="sum").backward()
    check.close(g_ce, zt.grad.reshape(p.shape).numpy(), expected_from="autograd of torch.nn.functional.cross_entropy")


@pytest.mark.symbolic
@pytest.mark.equation("information.cross_entropy_argmin")
@pytest.mark.parametrize("n", [2, 3])
def test_cross_entropy_argmin_equals_kl_argmin_symbolic(n):
    from specs.information import cross_entropy_argmin_proof

    facts = cross_entropy_argmin_proof(n)
    assert not facts["H_p_depends_on_theta"], "H(p) must not depend on theta"
    assert facts["gradient_difference"] == [0] * n, facts["gradient_difference"]
    assert facts["gradient_minus_q_minus_p"] == [0] * n, facts["gradient_minus_q_minus_p"]
    assert facts["gradient_at_q_equal_p"] == [0] * n, facts["gradient_at_q_equal_p"]


# ---------------------------------------------------------------- forward vs reverse KL: mode covering / seeking

_X = np.arange(25.0)


def _bimodal(weight: float, x=_X, left=7.0, right=17.0, width=1.2) -> np.ndarray:
    def bump(c):
        w = np.exp(-((x - c) ** 2) / (2 * width**2))
        return w / w.sum()

    return weight * bump(left) + (1 - weight) * bump(right)


@pytest.mark.numeric
@pytest.mark.equation("information.kl_mode_covering")
@pytest.mark.parametrize("weight", [0.5, 0.6, 0.7])
def test_kl_forward_covers_both_modes_reverse_collapses_onto_one(check, weight):
    """Fit a one-mode (discretised Gaussian) q to a two-mode p. Forward KL(p || q) puts at least a
    quarter of q's mass around each mode; reverse KL(q || p) puts > 99% around one mode (the heavier,
    or either one on a tie) and < 1% around the other; the forward fit is the wider."""
    p = _bimodal(weight)
    left, right = _X < 12, _X > 12
    mu_r, sigma_r, q_r, _ = check.call(p=p, x=_X, direction="reverse")
    mu_f, sigma_f, q_f, _ = check.call(p=p, x=_X, direction="forward")
    check.law(q_f[left].sum() > 0.25 and q_f[right].sum() > 0.25, "forward KL covers both modes",
              got={"mu": float(mu_f), "sigma": float(sigma_f), "mass left/right": (q_f[left].sum(), q_f[right].sum())})
    masses = sorted([q_r[left].sum(), q_r[right].sum()])
    check.law(masses[1] > 0.99 and masses[0] < 0.01, "reverse KL collapses onto one mode",
              got={"mu": float(mu_r), "sigma": float(sigma_r), "masses": masses})
    if weight > 0.5:
        check.law(q_r[left].sum() > 0.99, "reverse KL picks the heavier mode", got=float(mu_r))
    check.law(sigma_f > 3 * sigma_r, "the forward (mass-covering) fit is much wider than the reverse (mode-seeking) one",
              got=(float(sigma_f), float(sigma_r)))


@pytest.mark.numeric
@pytest.mark.equation("information.kl_mode_covering")
@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_kl_mode_fit_is_optimal_on_the_shared_grid(check, direction):
    """Every backend's fit is optimal on the shared grid: the reference objective at its (mu, sigma)
    equals the reference optimum (ties may be broken differently in float32)."""
    p = _bimodal(0.6)
    mu, sigma, q, obj = check.call(p=p, x=_X, direction=direction)
    _, _, _, best = check.reference(p=p, x=_X, direction=direction)
    fn = "kl_divergence" if direction == "forward" else "reverse_kl_divergence"
    q_ref = scipy.special.softmax(-((_X - float(mu)) ** 2) / (2 * float(sigma) ** 2))
    check.close(check.reference(fn, p=p, q=q_ref), best, what=f"{direction} KL at the backend's fit",
                expected_from="the NumPy reference's optimum on the same grid")
    check.close(obj, best, what="reported objective", expected_from="the NumPy reference's optimum")


@pytest.mark.symbolic
@pytest.mark.equation("information.kl_mode_covering")
@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_kl_mode_fit_sympy_matches_numpy(direction):
    """The SymPy objective (50 digits, no underflow) picks the same grid point as the NumPy reference."""
    check = Check("information.kl_mode_covering", Backend("sympy"))  # its oracle: the NumPy reference
    x = np.arange(13.0)
    p = _bimodal(0.6, x=x, left=3.0, right=9.0, width=0.8)
    check.agree(p=p, x=x, direction=direction)


# ---------------------------------------------------------------- Jensen-Shannon


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.jensen_shannon")
@given(dists=S.distribution_batches(count=2, batch=True), base=BASES)
def test_jensen_shannon_matches_scipy_jensenshannon(check, dists, base):
    """scipy's jensenshannon is the distance, the square root of the divergence."""
    from scipy.spatial.distance import jensenshannon  # here: 0.26 s of every collection of this file

    p, q = dists
    check.close(check.call(p=p, q=q, base=base), jensenshannon(p, q, base=base, axis=-1) ** 2,
                expected_from="scipy.spatial.distance.jensenshannon ** 2")


@pytest.mark.numeric
@pytest.mark.equation("information.jensen_shannon")
@given(dists=S.distribution_batches(count=2, batch=True))
def test_jensen_shannon_symmetric_and_bounded_by_ln2(check, dists):
    p, q = dists
    tol = check.tol
    qp = check.call(p=q, q=p)
    pq = check.call(p=p, q=q)
    check.close(qp, pq, what="JSD(q, p)", expected_from="JSD(p, q)")
    check.law((pq >= -tol.atol) & (pq <= math.log(2) + tol.atol + tol.rtol), "0 <= JSD <= ln 2", got=pq)
    n = p.shape[-1]
    if n >= 2:  # disjoint supports reach the bound
        a, c = np.zeros(n), np.zeros(n)
        a[0], c[1] = 1.0, 1.0
        check.close(check.call(p=a, q=c), math.log(2), expected_from="ln 2 (disjoint supports)")


@pytest.mark.numeric
@pytest.mark.equation("information.jensen_shannon")
@given(dists=S.distribution_batches(count=3, batch=True))
def test_jensen_shannon_sqrt_satisfies_triangle_inequality(check, dists):
    p, q, r = dists
    tol = check.tol
    d = lambda a, c: np.sqrt(np.maximum(check.call(p=a, q=c), 0.0))  # noqa: E731
    lhs, rhs = d(p, r), d(p, q) + d(q, r)
    check.inputs = {"p": p, "q": q, "r": r}
    check.law(lhs <= rhs + tol.atol + tol.rtol * rhs, "sqrt(JSD) is a metric: d(p, r) <= d(p, q) + d(q, r)",
              got=lhs, expected=rhs)
