"""Entropy (information_theory.md): the laws particular to H(X), bits and nats, and its oracles.

Agreement of every backend with its oracle, one signature in the three forms, pinned extremes,
batched = loop, the SymPy gradient, refused inputs and known mistakes (wrong log base, a missing
minus sign) are generated from lmverify/registry/information.py (tests/test_equations.py).
Here: laws (hypothesis), SymPy proofs, and the oracles scipy.stats.entropy and
torch.distributions.Categorical.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from lmverify import strategies as S

BASES = st.sampled_from([None, 2.0])


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.entropy")
@given(dists=S.distribution_batches(batch=True), base=BASES)
def test_entropy_matches_scipy_stats_entropy(check, dists, base):
    import scipy.stats  # here, not at the top: 0.65 s of every collection of this file (each xdist worker's, a student's)

    (p,) = dists
    check.close(check.call(p=p, base=base), scipy.stats.entropy(p, base=base, axis=-1),
                expected_from="scipy.stats.entropy")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.entropy")
@given(dists=S.distribution_batches(batch=True))
def test_entropy_matches_torch_categorical_entropy(check, dists):
    (p,) = dists
    check.close(check.call(p=p), torch.distributions.Categorical(probs=torch.tensor(p)).entropy().numpy(),
                expected_from="torch.distributions.Categorical(probs=p).entropy()")


@pytest.mark.numeric
@pytest.mark.equation("information.entropy")
@given(dists=S.distribution_batches(batch=True), base=BASES)
def test_entropy_between_zero_and_log_n_uniform_maximal_point_mass_zero(check, dists, base):
    """0 <= H(p) <= log n, = log n for the uniform distribution, = 0 for a point mass (0 log 0 = 0)."""
    (p,) = dists
    n = p.shape[-1]
    tol = check.tol
    h = check.call(p=p, base=base)
    log_n = math.log(n) / (1.0 if base is None else math.log(base))
    check.law((h >= -tol.atol) & (h <= log_n + tol.atol + tol.rtol * log_n), "0 <= H(p) <= log n", got=h, expected=log_n)
    check.close(check.call(p=np.full(n, 1.0 / n), base=base), log_n, what="H(uniform)", expected_from="log n")
    point = np.zeros(n)
    point[n // 2] = 1.0
    check.close(check.call(p=point, base=base), 0.0, what="H(point mass)", expected_from="0 (0 log 0 = 0, no NaN)")


@pytest.mark.symbolic
@pytest.mark.equation("information.entropy")
def test_entropy_symbolic_two_point_maximum_at_one_half():
    """H(a) = -a log a - (1-a) log(1-a): stationary only at a = 1/2, concave, H(1/2) = log 2."""
    from specs.information import entropy

    a = sp.Symbol("a", positive=True)
    H = entropy([a, 1 - a])
    assert sp.solve(sp.diff(H, a), a) == [sp.Rational(1, 2)]
    assert sp.simplify(sp.diff(H, a, 2) + 1 / (a * (1 - a))) == 0  # H'' = -1/(a(1-a)) < 0 on (0, 1)
    assert sp.simplify(H.subs(a, sp.Rational(1, 2)) - sp.log(2)) == 0


@pytest.mark.numeric
@pytest.mark.equation("information.entropy_bits_nats")
@given(dists=S.distribution_batches(batch=True))
def test_entropy_bits_times_ln2_equals_nats(check, dists):
    (p,) = dists
    nats, bits = check.call(p=p), check.call(p=p, base=2.0)
    check.close(bits * math.log(2), nats, what="H_bits * ln 2", expected_from="H_nats")


@pytest.mark.symbolic
@pytest.mark.equation("information.entropy_bits_nats")
def test_entropy_bits_nats_symbolic_identity():
    from specs.information import entropy

    p = sp.symbols("p0:3", positive=True)
    assert sp.simplify(entropy(p, base=2) * sp.log(2) - entropy(p)) == 0


@pytest.mark.numeric
@pytest.mark.equation("information.mutual_information")
@given(pxy=S.joint_distributions())
def test_mutual_information_both_forms_agree_and_are_bounded(check, pxy):
    """KL(p(x,y) || p(x)p(y)) = H(X) - H(X|Y); 0 <= I <= min(H(X), H(Y)); I(X; X) = H(X)."""
    tol = check.tol
    mi = check.call(pxy=pxy)
    check.close(check.call("mutual_information_from_entropies", pxy=pxy), mi, what="H(X) - H(X|Y)",
                expected_from="KL(p(x,y) || p(x)p(y))")
    check.close(mi, check.call("kl_divergence", p=pxy.ravel(), q=np.outer(pxy.sum(1), pxy.sum(0)).ravel()),
                expected_from="kl_divergence of the flattened tables")
    hx, hy = check.call("entropy", p=pxy.sum(1)), check.call("entropy", p=pxy.sum(0))
    check.inputs = {"pxy": pxy}
    bound = min(hx, hy)
    check.law(-tol.atol <= mi <= bound + tol.atol + tol.rtol * bound, "0 <= I(X; Y) <= min(H(X), H(Y))", got=mi,
              expected=(hx, hy))
    px = pxy.sum(1)
    check.close(check.call(pxy=np.diag(px)), hx, what="I(X; X)", expected_from="H(X)")


@pytest.mark.equation("information.mutual_information")
@given(pxy=S.joint_distributions(max_x=3, max_y=3), base=BASES)
def test_mutual_information_from_entropies_matches_oracle(check, pxy, base):
    """The generic test checks mutual_information; its companion H(X) - H(X|Y) here."""
    check.agree("mutual_information_from_entropies", pxy=pxy, base=base)


@pytest.mark.equation("information.mutual_information")
@given(pxy=S.joint_distributions(max_x=3, max_y=3), base=BASES)
def test_conditional_entropy_matches_oracle(check, pxy, base):
    """H(X|Y), a test of its own (so that `-k conditional_entropy` selects it, and it runs when
    mutual_information_from_entropies is not written yet)."""
    check.agree("conditional_entropy", pxy=pxy, base=base)


@pytest.mark.numeric
@pytest.mark.equation("information.mutual_information")
@given(pxy=S.joint_distributions(independent=True))
def test_mutual_information_zero_for_independent_variables(check, pxy):
    for name in ("mutual_information", "mutual_information_from_entropies"):
        check.close(check.call(name, pxy=pxy), 0.0, what=name, expected_from="0 for p(x, y) = p(x) p(y)")


@pytest.mark.symbolic
@pytest.mark.equation("information.mutual_information")
def test_mutual_information_symbolic_forms_are_identical():
    """For a symbolic 2 x 2 joint, KL(p(x,y) || p(x)p(y)) - (H(X) - H(X|Y)) simplifies to 0."""
    from specs.information import mutual_information, mutual_information_from_entropies

    a, b, c, d = sp.symbols("a b c d", positive=True)
    P = sp.Matrix([[a, b], [c, d]])
    diff = sp.simplify(sp.expand_log(mutual_information(P) - mutual_information_from_entropies(P), force=True))
    assert diff == 0, diff
