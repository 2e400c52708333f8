"""Information theory (information_theory.md): every equation in its three forms, its laws, its oracles.

Layers, each beside the others for the same equation:
  * agreement: each backend against its oracle (SymPy exact -> NumPy -> PyTorch / --impl);
  * laws and invariances (hypothesis): Gibbs, KL >= 0 and = 0 iff p = q, asymmetry, JSD bounds
    and the triangle inequality of its square root, MI >= 0 and = 0 for independent variables;
  * proofs (SymPy, symbols): Gibbs' inequality through the convexity of -log, same gradient
    of cross-entropy and forward KL;
  * oracles: scipy.stats.entropy, scipy.special.rel_entr / kl_div, scipy.spatial.distance.jensenshannon,
    torch.nn.functional.kl_div (argument order, log_target), torch.nn.functional.cross_entropy
    (probability targets, label_smoothing), torch.distributions.Categorical / kl_divergence;
  * the page's code block: recomputed by the project's references as golden values, and (with
    --course) run in a subprocess and compared with them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon

from lmverify import strategies as S
from lmverify.backends import Backend
from lmverify.compare import agree, assert_close, assert_true
from lmverify.tolerance import tolerance_for

T = "information"
BASES = st.sampled_from([None, 2.0])


def _shown(base):
    """How a base appears in failure messages (None means natural logs)."""
    return "None (nats)" if base is None else base


def _base_log(base):
    return 1.0 if base is None else math.log(base)


# ---------------------------------------------------------------- entropy


@pytest.mark.equation("information.entropy")
@given(dists=S.distribution_batches(), base=BASES)
def test_entropy_matches_oracle(backend, oracle, equation, dists, base):
    (p,) = dists
    agree(backend, oracle, T, "entropy", p, base=base, equation=equation, inputs={"p": p, "base": _shown(base)})


@pytest.mark.oracle
@pytest.mark.equation("information.entropy")
@given(dists=S.distribution_batches(batch=True), base=BASES)
def test_entropy_matches_scipy_stats_entropy(numeric_backend, equation, dists, base):
    (p,) = dists
    expected = scipy.stats.entropy(p, base=base, axis=-1)
    assert_close(numeric_backend.call(T, "entropy", p, base=base), expected, numeric_backend.tolerance(equation),
                 equation=equation, backend=numeric_backend.label, inputs={"p": p, "base": _shown(base)},
                 expected_from="scipy.stats.entropy")


@pytest.mark.oracle
@pytest.mark.equation("information.entropy")
@given(dists=S.distribution_batches(batch=True))
def test_entropy_matches_torch_categorical_entropy(numeric_backend, equation, dists):
    (p,) = dists
    expected = torch.distributions.Categorical(probs=torch.tensor(p)).entropy().numpy()
    assert_close(numeric_backend.call(T, "entropy", p), expected, numeric_backend.tolerance(equation),
                 equation=equation, backend=numeric_backend.label, inputs={"p": p},
                 expected_from="torch.distributions.Categorical(probs=p).entropy()")


@pytest.mark.equation("information.entropy")
@given(dists=S.distribution_batches(batch=True), base=BASES)
def test_entropy_between_zero_and_log_n_uniform_maximal_point_mass_zero(numeric_backend, equation, dists, base):
    """0 <= H(p) <= log n, = log n for the uniform distribution, = 0 for a point mass (0 log 0 = 0)."""
    (p,) = dists
    n = p.shape[-1]
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    h = b.call(T, "entropy", p, base=base)
    log_n = math.log(n) / _base_log(base)
    inputs = {"p": p, "base": _shown(base)}
    assert_true(bool(np.all(h >= -tol.atol) and np.all(h <= log_n + tol.atol + tol.rtol * log_n)),
                equation=equation, backend=b.label, law="0 <= H(p) <= log n", inputs=inputs, got=h, expected=log_n)
    assert_close(b.call(T, "entropy", np.full(n, 1.0 / n), base=base), log_n, tol, equation=equation,
                 backend=b.label, inputs={"n": n}, what="H(uniform)", expected_from="log n")
    point = np.zeros(n)
    point[n // 2] = 1.0
    assert_close(b.call(T, "entropy", point, base=base), 0.0, tol, equation=equation, backend=b.label,
                 inputs={"p": point}, what="H(point mass)", expected_from="0 (0 log 0 = 0, no NaN)")


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


@pytest.mark.equation("information.entropy_bits_nats")
@given(dists=S.distribution_batches(batch=True))
def test_entropy_bits_times_ln2_equals_nats(numeric_backend, equation, dists):
    (p,) = dists
    b = numeric_backend
    nats, bits = b.call(T, "entropy", p), b.call(T, "entropy", p, base=2.0)
    assert_close(bits * math.log(2), nats, b.tolerance(equation), equation=equation, backend=b.label,
                 inputs={"p": p}, what="H_bits * ln 2", expected_from="H_nats")


@pytest.mark.symbolic
@pytest.mark.equation("information.entropy_bits_nats")
def test_entropy_bits_nats_symbolic_identity():
    from specs.information import entropy

    p = sp.symbols("p0:3", positive=True)
    assert sp.simplify(entropy(p, base=2) * sp.log(2) - entropy(p)) == 0


# ---------------------------------------------------------------- cross-entropy


@pytest.mark.equation("information.cross_entropy")
@given(dists=S.distribution_batches(count=2), base=BASES)
def test_cross_entropy_matches_oracle(backend, oracle, equation, dists, base):
    p, q = dists
    agree(backend, oracle, T, "cross_entropy", p, q, base=base, equation=equation,
          inputs={"p": p, "q": q, "base": _shown(base)})


@pytest.mark.equation("information.cross_entropy")
@given(dists=S.distribution_batches(count=2, batch=True))
def test_cross_entropy_gibbs_inequality(numeric_backend, equation, dists):
    """H(p, q) >= H(p), with equality at q = p."""
    p, q = dists
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    ce, h = b.call(T, "cross_entropy", p, q), b.call(T, "entropy", p)
    assert_true(bool(np.all(ce >= h - tol.atol - tol.rtol * np.abs(h))), equation=equation, backend=b.label,
                law="H(p, q) >= H(p) (Gibbs)", inputs={"p": p, "q": q}, got=ce, expected=h)
    assert_close(b.call(T, "cross_entropy", p, p), h, tol, equation=equation, backend=b.label, inputs={"p": p},
                 what="H(p, p)", expected_from="H(p)")


@pytest.mark.equation("information.cross_entropy")
@pytest.mark.parametrize("p,q,infinite", [
    ([0.5, 0.5], [1.0, 0.0], True),          # q = 0 where p > 0
    ([1.0, 0.0], [1.0, 0.0], False),         # q = 0 only where p = 0: 0 log 0 = 0
    ([0.0, 1.0, 0.0], [0.5, 0.5, 0.0], False),
    ([0.25, 0.25, 0.5], [0.0, 0.5, 0.5], True),
])
def test_cross_entropy_and_kl_infinite_not_nan_where_q_is_zero(backend, equation, p, q, infinite):
    p, q = np.array(p), np.array(q)
    for name in ("cross_entropy", "kl_divergence"):
        got = float(backend.call(T, name, p, q))
        assert_true(not math.isnan(got) and math.isinf(got) == infinite, equation=equation, backend=backend.label,
                    law=f"{name} is inf exactly when q = 0 somewhere p > 0 (never NaN)", inputs={"p": p, "q": q},
                    got=got, expected="inf" if infinite else "finite")


@pytest.mark.oracle
@pytest.mark.equation("information.cross_entropy")
@given(dists=S.distribution_batches(batch=True), logits=st.data())
def test_cross_entropy_matches_torch_probability_targets(numeric_backend, equation, dists, logits):
    """F.cross_entropy(logits, target=p) with probability targets is H(p, softmax(logits))."""
    (p,) = dists
    z = logits.draw(S.arrays(p.shape), label="logits")
    q = scipy.special.softmax(z, axis=-1)
    zt = torch.tensor(z).reshape(-1, p.shape[-1])
    expected = F.cross_entropy(zt, torch.tensor(p).reshape(-1, p.shape[-1]), reduction="none").reshape(p.shape[:-1])
    assert_close(numeric_backend.call(T, "cross_entropy", p, q), expected.numpy(), numeric_backend.tolerance(equation),
                 equation=equation, backend=numeric_backend.label, inputs={"p": p, "logits": z},
                 expected_from="torch.nn.functional.cross_entropy(logits, p) (probability targets)")


@pytest.mark.equation("information.cross_entropy_one_hot", "information.cross_entropy_one_hot_fish")
@given(logits=S.logits(max_len=5), data=st.data())
def test_cross_entropy_one_hot_is_negative_log_of_true_token(numeric_backend, equation, logits, data):
    """With a one-hot p the sum has one term, -log q(w*): F.cross_entropy with class indices."""
    rows, n = logits.shape
    y = np.array([data.draw(st.integers(0, n - 1)) for _ in range(rows)])
    p = np.eye(n)[y]
    q = scipy.special.softmax(logits, axis=-1)
    got = numeric_backend.call(T, "cross_entropy", p, q)
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    assert_close(got, -np.log(q[np.arange(rows), y]), tol, equation=equation, backend=b.label,
                 inputs={"logits": logits, "y": y}, expected_from="-log q(true token)")
    expected = F.cross_entropy(torch.tensor(logits), torch.tensor(y), reduction="none").numpy()
    assert_close(got, expected, tol, equation=equation, backend=b.label, inputs={"logits": logits, "y": y},
                 expected_from="torch.nn.functional.cross_entropy(logits, class indices)")


_BAD = [
    (np.array([0.5, np.nan, 0.5]), "NaN"),
    (np.array([1.2, -0.2]), "negative mass"),
    (np.array([0.5, 0.4]), "sum to one"),
]


@pytest.mark.equation("information.entropy", "information.cross_entropy", "information.kl_divergence")
@pytest.mark.parametrize("bad,message", _BAD, ids=["nan", "negative", "not-normalised"])
@pytest.mark.parametrize("name", ["entropy", "cross_entropy", "kl_divergence", "reverse_kl_divergence",
                                  "jensen_shannon_divergence"])
def test_entropy_cross_entropy_kl_reject_bad_distributions_naming_the_argument(backend, name, bad, message):
    good = np.full(bad.shape, 1.0 / bad.size)
    if name == "entropy":
        cases = [((bad,), "p")]
    else:
        cases = [((bad, good), "p"), ((good, bad), "q")]
    for args, arg in cases:
        with pytest.raises(ValueError, match=message) as err:
            backend.call(T, name, *args)
        assert f"{name}: {arg} " in str(err.value), str(err.value)


# ---------------------------------------------------------------- KL divergence


@pytest.mark.equation("information.kl_divergence")
@given(dists=S.distribution_batches(count=2), base=BASES)
def test_kl_divergence_matches_oracle(backend, oracle, equation, dists, base):
    p, q = dists
    agree(backend, oracle, T, "kl_divergence", p, q, base=base, equation=equation,
          inputs={"p": p, "q": q, "base": _shown(base)})


@pytest.mark.equation("information.kl_forward_reverse")
@given(dists=S.distribution_batches(count=2))
def test_kl_reverse_matches_oracle(backend, oracle, equation, dists):
    p, q = dists
    agree(backend, oracle, T, "reverse_kl_divergence", p, q, equation=equation, inputs={"p": p, "q": q})


@pytest.mark.equation("information.kl_divergence")
@given(dists=S.distribution_batches(count=2, batch=True), base=BASES)
def test_kl_divergence_is_cross_entropy_minus_entropy(numeric_backend, equation, dists, base):
    p, q = dists
    b = numeric_backend
    kl = b.call(T, "kl_divergence", p, q, base=base)
    gap = b.call(T, "cross_entropy", p, q, base=base) - b.call(T, "entropy", p, base=base)
    assert_close(kl, gap, b.tolerance(equation), equation=equation, backend=b.label,
                 inputs={"p": p, "q": q, "base": _shown(base)}, expected_from="H(p, q) - H(p)")


@pytest.mark.equation("information.kl_divergence")
@given(dists=S.distribution_batches(count=2, batch=True))
def test_kl_divergence_non_negative_and_zero_iff_equal(numeric_backend, equation, dists):
    p, q = dists
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    kl = b.call(T, "kl_divergence", p, q)
    inputs = {"p": p, "q": q}
    assert_true(bool(np.all(kl >= -tol.atol)), equation=equation, backend=b.label, law="KL(p || q) >= 0",
                inputs=inputs, got=kl)
    assert_close(b.call(T, "kl_divergence", p, p), np.zeros(p.shape[:-1]), tol, equation=equation,
                 backend=b.label, inputs={"p": p}, what="KL(p || p)", expected_from="0")
    tv = 0.5 * np.abs(p - q).sum(axis=-1)  # total variation distance
    assert_true(bool(np.all(kl >= 2 * tv**2 - tol.atol - tol.rtol * kl)), equation=equation, backend=b.label,
                law="Pinsker: KL(p || q) >= 2 TV(p, q)^2, so KL > 0 whenever p != q", inputs=inputs, got=kl,
                expected=2 * tv**2)


@pytest.mark.equation("information.kl_forward_reverse")
def test_kl_is_not_symmetric(backend, equation):
    """An example: p = (1/2, 1/2), q = (9/10, 1/10): KL(p || q) != KL(q || p)."""
    p, q = np.array([0.5, 0.5]), np.array([0.9, 0.1])
    forward = float(backend.call(T, "kl_divergence", p, q))
    reverse = float(backend.call(T, "reverse_kl_divergence", p, q))
    assert_close(reverse, float(backend.call(T, "kl_divergence", q, p)), backend.tolerance(equation),
                 equation=equation, backend=backend.label, inputs={"p": p, "q": q}, what="reverse KL",
                 expected_from="KL(q || p)")
    assert_true(abs(forward - reverse) > 0.1, equation=equation, backend=backend.label,
                law="KL is not symmetric: KL(p || q) != KL(q || p)", inputs={"p": p, "q": q},
                got=(forward, reverse))


@pytest.mark.equation("information.kl_two_point_example")
def test_kl_divergence_two_point_example_is_sum_of_printed_terms(backend, equation):
    """Line 112: KL([0.5, 0.5] || [0.6, 0.4]) = 0.5 log(0.5/0.6) + 0.5 log(0.5/0.4) (exact in SymPy)."""
    p, q = np.array([0.5, 0.5]), np.array([0.6, 0.4])
    half, r6, r4 = (sp.Rational(x) for x in (0.5, 0.6, 0.4))  # the exact binary values the backends receive
    expected = half * sp.log(half / r6) + half * sp.log(half / r4)
    assert_close(backend.call(T, "kl_divergence", p, q), float(sp.N(expected, 30)), backend.tolerance(equation),
                 equation=equation, backend=backend.label, inputs={"p": p, "q": q},
                 expected_from="0.5 log(0.5/0.6) + 0.5 log(0.5/0.4) (SymPy)")


@pytest.mark.equation("information.kl_divergence")
def test_kl_triangle_inequality_fails(numeric_backend, equation):
    """The page's interview answer (line 326): KL is not a metric; here KL(p||r) > KL(p||q) + KL(q||r)."""
    p, q, r = np.array([0.9, 0.1]), np.array([0.5, 0.5]), np.array([0.1, 0.9])
    kl = lambda a, c: float(numeric_backend.call(T, "kl_divergence", a, c))  # noqa: E731
    assert_true(kl(p, r) > kl(p, q) + kl(q, r), equation=equation, backend=numeric_backend.label,
                law="a counterexample to the triangle inequality for KL", inputs={"p": p, "q": q, "r": r},
                got=(kl(p, r), kl(p, q) + kl(q, r)))


@pytest.mark.oracle
@pytest.mark.equation("information.kl_divergence")
@given(dists=S.distribution_batches(count=2, batch=True))
def test_kl_divergence_matches_scipy_rel_entr_and_kl_div(numeric_backend, equation, dists):
    """scipy.special.rel_entr(p, q) = p log(p/q); kl_div(p, q) = p log(p/q) - p + q (same sum for distributions)."""
    p, q = dists
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    got = b.call(T, "kl_divergence", p, q)
    for name, expected in (("rel_entr", scipy.special.rel_entr(p, q).sum(-1)),
                           ("kl_div", scipy.special.kl_div(p, q).sum(-1))):
        assert_close(got, expected, tol, equation=equation, backend=b.label, inputs={"p": p, "q": q},
                     expected_from=f"scipy.special.{name}(p, q).sum(-1)")


@pytest.mark.oracle
@pytest.mark.equation("information.kl_divergence", "information.kl_forward_reverse")
@given(dists=S.distribution_batches(count=2, full_support=True, batch=True))
def test_kl_divergence_matches_torch_kl_div_argument_order(numeric_backend, equation, dists):
    """F.kl_div(input, target) = sum target (log target - input): input is LOG q, target is p, so it is
    KL(p || q) - the reverse of the mathematical argument order. log_target=True takes log p."""
    p, q = dists
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    P, Q = torch.tensor(p), torch.tensor(q)
    forward = b.call(T, "kl_divergence", p, q)
    cases = {
        "F.kl_div(q.log(), p).sum(-1)": F.kl_div(Q.log(), P, reduction="none").sum(-1),
        "F.kl_div(q.log(), p.log(), log_target=True).sum(-1)": F.kl_div(Q.log(), P.log(), reduction="none",
                                                                         log_target=True).sum(-1),
        "torch.distributions.kl_divergence(Categorical(p), Categorical(q))": torch.distributions.kl_divergence(
            torch.distributions.Categorical(probs=P), torch.distributions.Categorical(probs=Q)),
    }
    for what, expected in cases.items():
        assert_close(forward, expected.numpy(), tol, equation=equation, backend=b.label, inputs={"p": p, "q": q},
                     what="KL(p || q)", expected_from=what)
    assert_close(b.call(T, "reverse_kl_divergence", p, q), F.kl_div(P.log(), Q, reduction="none").sum(-1).numpy(),
                 tol, equation=equation, backend=b.label, inputs={"p": p, "q": q}, what="reverse KL(q || p)",
                 expected_from="F.kl_div(p.log(), q) (arguments swapped)")


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
def test_kl_nonnegativity_jensen_bound_term_by_term(backend, equation, dists):
    """KL(p || q) = sum p g(q/p) with g(t) = t - 1 - log t >= 0: every term of the sum is >= 0."""
    p, q = dists
    kl = float(backend.call(T, "kl_divergence", p, q))
    terms = p * (q / p - 1 - np.log(q / p))
    assert_true(bool(np.all(terms >= 0)), equation=equation, backend=backend.label,
                law="p g(q/p) >= 0 term by term", inputs={"p": p, "q": q}, got=terms)
    assert_close(kl, terms.sum(), backend.tolerance(equation), equation=equation, backend=backend.label,
                 inputs={"p": p, "q": q}, expected_from="sum_x p g(q/p)")


# ---------------------------------------------------------------- argmin H(p, q_theta) = argmin KL(p || q_theta)


@pytest.mark.equation("information.cross_entropy_argmin")
@given(dists=S.distribution_batches(max_len=4), data=st.data())
def test_cross_entropy_gradient_matches_oracle(backend, oracle, equation, dists, data):
    (p,) = dists
    z = data.draw(S.arrays(p.shape, exact=True), label="logits")
    for name in ("cross_entropy_gradient", "kl_divergence_gradient"):
        agree(backend, oracle, T, name, p, z, equation=equation, inputs={"p": p, "logits": z})


@pytest.mark.equation("information.cross_entropy_argmin")
@given(dists=S.distribution_batches(batch=True), data=st.data())
def test_cross_entropy_and_kl_gradients_are_equal_and_vanish_at_q_equal_p(numeric_backend, equation, dists, data):
    """Same gradient, so the same minimiser; it is q - p, zero exactly at softmax(theta) = p."""
    (p,) = dists
    z = data.draw(S.arrays(p.shape), label="logits")
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    g_ce, g_kl = b.call(T, "cross_entropy_gradient", p, z), b.call(T, "kl_divergence_gradient", p, z)
    inputs = {"p": p, "logits": z}
    assert_close(g_kl, g_ce, tol, equation=equation, backend=b.label, inputs=inputs, what="grad KL(p || q_theta)",
                 expected_from="grad H(p, q_theta)")
    assert_close(g_ce, scipy.special.softmax(z, axis=-1) - p, tol, equation=equation, backend=b.label,
                 inputs=inputs, expected_from="softmax(theta) - p")
    # autograd of torch's own loss (probability targets) is the oracle for the gradient
    zt = torch.tensor(z).reshape(-1, p.shape[-1]).requires_grad_(True)
    F.cross_entropy(zt, torch.tensor(p).reshape(-1, p.shape[-1]), reduction="sum").backward()
    assert_close(g_ce, zt.grad.reshape(p.shape).numpy(), tol, equation=equation, backend=b.label, inputs=inputs,
                 expected_from="autograd of torch.nn.functional.cross_entropy")


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


@pytest.mark.equation("information.kl_mode_covering")
@pytest.mark.parametrize("weight", [0.5, 0.6, 0.7])
def test_kl_forward_covers_both_modes_reverse_collapses_onto_one(numeric_backend, equation, weight):
    """Fit a one-mode (discretised Gaussian) q to a two-mode p. Forward KL(p || q) puts at least a
    quarter of q's mass around each mode; reverse KL(q || p) puts > 99% around one mode (the heavier,
    or either one on a tie) and < 1% around the other; the forward fit is the wider."""
    p = _bimodal(weight)
    b = numeric_backend
    left, right = _X < 12, _X > 12
    mu_f, sigma_f, q_f, _ = b.call(T, "fit_one_mode", p, _X, direction="forward")
    mu_r, sigma_r, q_r, _ = b.call(T, "fit_one_mode", p, _X, direction="reverse")
    inputs = {"p": p, "x": _X}
    assert_true(q_f[left].sum() > 0.25 and q_f[right].sum() > 0.25, equation=equation, backend=b.label,
                law="forward KL covers both modes", inputs=inputs,
                got={"mu": float(mu_f), "sigma": float(sigma_f), "mass left/right": (q_f[left].sum(), q_f[right].sum())})
    masses = sorted([q_r[left].sum(), q_r[right].sum()])
    assert_true(masses[1] > 0.99 and masses[0] < 0.01, equation=equation, backend=b.label,
                law="reverse KL collapses onto one mode", inputs=inputs,
                got={"mu": float(mu_r), "sigma": float(sigma_r), "masses": masses})
    if weight > 0.5:
        assert_true(q_r[left].sum() > 0.99, equation=equation, backend=b.label,
                    law="reverse KL picks the heavier mode", inputs=inputs, got=float(mu_r))
    assert_true(sigma_f > 3 * sigma_r, equation=equation, backend=b.label,
                law="the forward (mass-covering) fit is much wider than the reverse (mode-seeking) one",
                inputs=inputs, got=(float(sigma_f), float(sigma_r)))


@pytest.mark.equation("information.kl_mode_covering")
def test_kl_mode_fit_matches_oracle(numeric_backend, reference, equation):
    """Every backend's fit is optimal on the shared grid: the reference objective at its (mu, sigma)
    equals the reference optimum (ties may be broken differently in float32)."""
    p = _bimodal(0.6)
    for direction in ("forward", "reverse"):
        mu, sigma, q, obj = numeric_backend.call(T, "fit_one_mode", p, _X, direction=direction)
        _, _, _, best = reference.call(T, "fit_one_mode", p, _X, direction=direction)
        fn = "kl_divergence" if direction == "forward" else "reverse_kl_divergence"
        q_ref = scipy.special.softmax(-((_X - float(mu)) ** 2) / (2 * float(sigma) ** 2))
        at_choice = reference.call(T, fn, p, q_ref)
        tol = numeric_backend.tolerance(equation)
        assert_close(at_choice, best, tol, equation=equation, backend=numeric_backend.label,
                     inputs={"p": p, "direction": direction}, what=f"{direction} KL at the backend's fit",
                     expected_from="the NumPy reference's optimum on the same grid")
        assert_close(obj, best, tol, equation=equation, backend=numeric_backend.label,
                     inputs={"p": p, "direction": direction}, what="reported objective",
                     expected_from="the NumPy reference's optimum")


@pytest.mark.symbolic
@pytest.mark.equation("information.kl_mode_covering")
def test_kl_mode_fit_sympy_matches_numpy(equation):
    """The SymPy objective (50 digits, no underflow) picks the same grid point as the NumPy reference."""
    x = np.arange(13.0)
    p = _bimodal(0.6, x=x, left=3.0, right=9.0, width=0.8)
    for direction in ("forward", "reverse"):
        got = Backend("sympy").call(T, "fit_one_mode", p, x, direction=direction)
        expected = Backend("numpy").call(T, "fit_one_mode", p, x, direction=direction)
        for i, what in enumerate(("mu", "sigma", "q", "objective")):
            assert_close(got[i], expected[i], tolerance_for("float64", equation), equation=equation,
                         backend="sympy", inputs={"p": p, "direction": direction}, what=what,
                         expected_from="NumPy reference")


# ---------------------------------------------------------------- perplexity


@pytest.mark.equation("information.perplexity")
@given(nll=S.nll_sequences, base=BASES)
def test_perplexity_matches_oracle(backend, oracle, equation, nll, base):
    agree(backend, oracle, T, "perplexity", nll, base=base, equation=equation, inputs={"nll": nll, "base": _shown(base)})


@pytest.mark.equation("information.average_nll")
@given(dists=S.distribution_batches(max_len=6, full_support=True), base=BASES)
def test_perplexity_average_nll_matches_oracle(backend, oracle, equation, dists, base):
    (q_true,) = dists  # any probabilities in (0, 1]
    agree(backend, oracle, T, "average_nll", q_true, base=base, equation=equation,
          inputs={"q_true": q_true, "base": _shown(base)})


@pytest.mark.equation("information.perplexity", "information.perplexity_bits", "information.perplexity_chain")
@given(nll=S.nll_sequences)
def test_perplexity_is_exp_mean_nll_and_two_to_the_bits(numeric_backend, equation, nll):
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    ppl = b.call(T, "perplexity", nll)
    inputs = {"nll": nll}
    assert_close(ppl, np.exp(nll.mean()), tol, equation=equation, backend=b.label, inputs=inputs,
                 expected_from="exp(mean NLL)")
    assert_close(b.call(T, "perplexity", nll / math.log(2), base=2.0), ppl, tol, equation=equation,
                 backend=b.label, inputs=inputs, what="2 ** (mean NLL in bits)", expected_from="exp(mean NLL in nats)")


@pytest.mark.oracle
@pytest.mark.equation("information.perplexity", "information.average_nll")
@given(logits=S.logits(max_rows=6, max_len=5), data=st.data())
def test_perplexity_equals_exp_of_torch_cross_entropy_loss(numeric_backend, equation, logits, data):
    """PPL of a token sequence = exp(F.cross_entropy(logits, targets)) (mean reduction) = exp(average NLL)."""
    rows, n = logits.shape
    y = np.array([data.draw(st.integers(0, n - 1)) for _ in range(rows)])
    q_true = scipy.special.softmax(logits, axis=-1)[np.arange(rows), y]
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    loss = F.cross_entropy(torch.tensor(logits), torch.tensor(y)).item()
    h_hat = b.call(T, "average_nll", q_true)
    assert_close(h_hat, loss, tol, equation=equation, backend=b.label, inputs={"logits": logits, "y": y},
                 what="average NLL", expected_from="F.cross_entropy(logits, y)")
    assert_close(b.call(T, "perplexity", -np.log(q_true)), math.exp(loss), tol, equation=equation, backend=b.label,
                 inputs={"logits": logits, "y": y}, expected_from="exp(F.cross_entropy(logits, y))")


@pytest.mark.equation("information.perplexity")
@pytest.mark.parametrize("vocab", [2, 30, 50, 50_000])
def test_perplexity_of_uniform_model_is_vocabulary_size(numeric_backend, equation, vocab):
    """The page's reading (lines 140, 149): a model uniform over V choices has perplexity V."""
    nll = np.full(7, math.log(vocab))
    assert_close(numeric_backend.call(T, "perplexity", nll), float(vocab), numeric_backend.tolerance(equation),
                 equation=equation, backend=numeric_backend.label, inputs={"V": vocab}, expected_from="V")


# ---------------------------------------------------------------- mutual information


@pytest.mark.equation("information.mutual_information")
@given(pxy=S.joint_distributions(max_x=3, max_y=3), base=BASES)
def test_mutual_information_matches_oracle(backend, oracle, equation, pxy, base):
    for name in ("mutual_information", "mutual_information_from_entropies", "conditional_entropy"):
        agree(backend, oracle, T, name, pxy, base=base, equation=equation, inputs={"pxy": pxy, "base": _shown(base)})


@pytest.mark.equation("information.mutual_information")
@given(pxy=S.joint_distributions())
def test_mutual_information_both_forms_agree_and_are_bounded(numeric_backend, equation, pxy):
    """KL(p(x,y) || p(x)p(y)) = H(X) - H(X|Y); 0 <= I <= min(H(X), H(Y)); I(X; X) = H(X)."""
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    mi = b.call(T, "mutual_information", pxy)
    inputs = {"pxy": pxy}
    assert_close(b.call(T, "mutual_information_from_entropies", pxy), mi, tol, equation=equation, backend=b.label,
                 inputs=inputs, what="H(X) - H(X|Y)", expected_from="KL(p(x,y) || p(x)p(y))")
    assert_close(mi, b.call(T, "kl_divergence", pxy.ravel(), np.outer(pxy.sum(1), pxy.sum(0)).ravel()), tol,
                 equation=equation, backend=b.label, inputs=inputs, expected_from="kl_divergence of the flattened tables")
    hx, hy = b.call(T, "entropy", pxy.sum(1)), b.call(T, "entropy", pxy.sum(0))
    assert_true(bool(-tol.atol <= mi <= min(hx, hy) + tol.atol + tol.rtol * min(hx, hy)), equation=equation,
                backend=b.label, law="0 <= I(X; Y) <= min(H(X), H(Y))", inputs=inputs, got=mi, expected=(hx, hy))
    px = pxy.sum(1)
    assert_close(b.call(T, "mutual_information", np.diag(px)), hx, tol, equation=equation, backend=b.label,
                 inputs={"p(x)": px}, what="I(X; X)", expected_from="H(X)")


@pytest.mark.equation("information.mutual_information")
@given(pxy=S.joint_distributions(independent=True))
def test_mutual_information_zero_for_independent_variables(numeric_backend, equation, pxy):
    b = numeric_backend
    for name in ("mutual_information", "mutual_information_from_entropies"):
        assert_close(b.call(T, name, pxy), 0.0, b.tolerance(equation), equation=equation, backend=b.label,
                     inputs={"pxy": pxy}, what=name, expected_from="0 for p(x, y) = p(x) p(y)")


@pytest.mark.symbolic
@pytest.mark.equation("information.mutual_information")
def test_mutual_information_symbolic_forms_are_identical():
    """For a symbolic 2 x 2 joint, KL(p(x,y) || p(x)p(y)) - (H(X) - H(X|Y)) simplifies to 0."""
    from specs.information import mutual_information, mutual_information_from_entropies

    a, b, c, d = sp.symbols("a b c d", positive=True)
    P = sp.Matrix([[a, b], [c, d]])
    diff = sp.simplify(sp.expand_log(mutual_information(P) - mutual_information_from_entropies(P), force=True))
    assert diff == 0, diff


# ---------------------------------------------------------------- Jensen-Shannon


@pytest.mark.equation("information.jensen_shannon")
@given(dists=S.distribution_batches(count=2), base=BASES)
def test_jensen_shannon_matches_oracle(backend, oracle, equation, dists, base):
    p, q = dists
    agree(backend, oracle, T, "jensen_shannon_divergence", p, q, base=base, equation=equation,
          inputs={"p": p, "q": q, "base": _shown(base)})


@pytest.mark.oracle
@pytest.mark.equation("information.jensen_shannon")
@given(dists=S.distribution_batches(count=2, batch=True), base=BASES)
def test_jensen_shannon_matches_scipy_jensenshannon(numeric_backend, equation, dists, base):
    """scipy's jensenshannon is the distance, the square root of the divergence."""
    p, q = dists
    expected = jensenshannon(p, q, base=base, axis=-1) ** 2
    assert_close(numeric_backend.call(T, "jensen_shannon_divergence", p, q, base=base), expected,
                 numeric_backend.tolerance(equation), equation=equation, backend=numeric_backend.label,
                 inputs={"p": p, "q": q, "base": _shown(base)}, expected_from="scipy.spatial.distance.jensenshannon ** 2")


@pytest.mark.equation("information.jensen_shannon")
@given(dists=S.distribution_batches(count=2, batch=True))
def test_jensen_shannon_symmetric_and_bounded_by_ln2(numeric_backend, equation, dists):
    p, q = dists
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    pq, qp = b.call(T, "jensen_shannon_divergence", p, q), b.call(T, "jensen_shannon_divergence", q, p)
    inputs = {"p": p, "q": q}
    assert_close(qp, pq, tol, equation=equation, backend=b.label, inputs=inputs, what="JSD(q, p)",
                 expected_from="JSD(p, q)")
    assert_true(bool(np.all(pq >= -tol.atol) and np.all(pq <= math.log(2) + tol.atol + tol.rtol)),
                equation=equation, backend=b.label, law="0 <= JSD <= ln 2", inputs=inputs, got=pq)
    n = p.shape[-1]
    if n >= 2:  # disjoint supports reach the bound
        a, c = np.zeros(n), np.zeros(n)
        a[0], c[1] = 1.0, 1.0
        assert_close(b.call(T, "jensen_shannon_divergence", a, c), math.log(2), tol, equation=equation,
                     backend=b.label, inputs={"p": a, "q": c}, expected_from="ln 2 (disjoint supports)")


@pytest.mark.equation("information.jensen_shannon")
@given(dists=S.distribution_batches(count=3, batch=True))
def test_jensen_shannon_sqrt_satisfies_triangle_inequality(numeric_backend, equation, dists):
    p, q, r = dists
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    d = lambda a, c: np.sqrt(np.maximum(b.call(T, "jensen_shannon_divergence", a, c), 0.0))  # noqa: E731
    lhs, rhs = d(p, r), d(p, q) + d(q, r)
    assert_true(bool(np.all(lhs <= rhs + tol.atol + tol.rtol * rhs)), equation=equation, backend=b.label,
                law="sqrt(JSD) is a metric: d(p, r) <= d(p, q) + d(q, r)", inputs={"p": p, "q": q, "r": r},
                got=lhs, expected=rhs)


# ---------------------------------------------------------------- label smoothing


@pytest.mark.equation("information.label_smoothing")
@given(K=st.integers(2, 6), eps=st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]), data=st.data(),
       convention=st.sampled_from(["page", "torch"]))
def test_label_smoothing_targets_matches_oracle(backend, oracle, equation, K, eps, data, convention):
    y = data.draw(st.integers(0, K - 1), label="target")
    agree(backend, oracle, T, "label_smoothing_targets", y, K, eps, convention=convention, equation=equation,
          inputs={"target": y, "K": K, "epsilon": eps, "convention": convention})


@pytest.mark.equation("information.label_smoothing")
@given(K=st.integers(2, 8), eps=st.floats(0.0, 1.0), data=st.data())
def test_label_smoothing_conventions_differ_by_rescaled_epsilon(numeric_backend, equation, K, eps, data):
    """Both are distributions; page target mass 1 - eps, torch 1 - eps + eps/K; torch's eps equals the
    page's with eps' = eps (K - 1) / K."""
    y = [data.draw(st.integers(0, K - 1)) for _ in range(3)]
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    page = b.call(T, "label_smoothing_targets", y, K, eps, convention="page")
    torch_ = b.call(T, "label_smoothing_targets", y, K, eps, convention="torch")
    inputs = {"target": y, "K": K, "epsilon": eps}
    for name, t in (("page", page), ("torch", torch_)):
        assert_close(t.sum(-1), np.ones(3), tol, equation=equation, backend=b.label, inputs=inputs,
                     what=f"{name} targets' row sums", expected_from="1")
    assert_close(page[np.arange(3), y], np.full(3, 1 - eps), tol, equation=equation, backend=b.label,
                 inputs=inputs, what="page target mass", expected_from="1 - eps")
    assert_close(torch_[np.arange(3), y], np.full(3, 1 - eps + eps / K), tol, equation=equation, backend=b.label,
                 inputs=inputs, what="torch target mass", expected_from="1 - eps + eps/K")
    rescaled = b.call(T, "label_smoothing_targets", y, K, eps * (K - 1) / K, convention="page")
    assert_close(torch_, rescaled, tol, equation=equation, backend=b.label, inputs=inputs,
                 what="torch convention", expected_from="page convention with eps (K-1)/K")


@pytest.mark.oracle
@pytest.mark.equation("information.label_smoothing")
@given(logits=S.logits(max_len=6), eps=st.sampled_from([0.0, 0.05, 0.1, 0.3]), data=st.data())
def test_label_smoothing_torch_convention_matches_F_cross_entropy(numeric_backend, equation, logits, eps, data):
    """F.cross_entropy(logits, y, label_smoothing=eps) = H(targets with eps/K, softmax(logits)), and differs
    from the page's eps/(K-1) convention whenever 0 < eps and K > 1."""
    rows, K = logits.shape
    if K < 2:
        return
    y = [data.draw(st.integers(0, K - 1)) for _ in range(rows)]
    q = scipy.special.softmax(logits, axis=-1)
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    expected = F.cross_entropy(torch.tensor(logits), torch.tensor(y), label_smoothing=eps, reduction="none").numpy()
    targets = b.call(T, "label_smoothing_targets", y, K, eps, convention="torch")
    got = b.call(T, "cross_entropy", targets, q)
    inputs = {"logits": logits, "y": y, "epsilon": eps}
    assert_close(got, expected, tol, equation=equation, backend=b.label, inputs=inputs,
                 expected_from="F.cross_entropy(..., label_smoothing=eps)")


@pytest.mark.equation("information.label_smoothing")
@pytest.mark.parametrize("convention", ["page", "torch"])
def test_label_smoothing_zero_model_mass_makes_cross_entropy_infinite(backend, equation, convention):
    """A model with q = 0 on a non-target class: finite loss against the hard one-hot target, but an
    INFINITE loss against a smoothed target (every class has target mass > 0) - the opposite of the
    page's line 294."""
    q = np.array([0.9, 0.0, 0.05, 0.05])
    hard = float(backend.call(T, "cross_entropy", np.array([1.0, 0.0, 0.0, 0.0]), q))
    smooth = float(backend.call(T, "cross_entropy", backend.call(T, "label_smoothing_targets", 0, 4, 0.1,
                                                                 convention=convention), q))
    assert_true(math.isfinite(hard), equation=equation, backend=backend.label,
                law="hard target: q = 0 off-target costs nothing (0 log 0 = 0)", inputs={"q": q}, got=hard)
    assert_true(smooth == math.inf, equation=equation, backend=backend.label,
                law="smoothed target: q = 0 on any class gives H = inf (not NaN)", inputs={"q": q}, got=smooth)


@pytest.mark.equation("information.label_smoothing")
@given(K=st.integers(2, 6), eps=st.sampled_from([0.05, 0.1, 0.3]))
def test_label_smoothing_raises_the_minimum_cross_entropy(numeric_backend, equation, K, eps):
    """min_q H(p_smooth, q) = H(p_smooth) > 0 = min_q H(one-hot, q): smoothing raises the attainable loss."""
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    t = b.call(T, "label_smoothing_targets", 0, K, eps, convention="page")
    h = float(b.call(T, "entropy", t))
    assert_close(b.call(T, "cross_entropy", t, t), h, tol, equation=equation, backend=b.label,
                 inputs={"K": K, "epsilon": eps}, expected_from="H(p_smooth) (attained at q = p_smooth)")
    assert_true(h > 0, equation=equation, backend=b.label, law="H(p_smooth) > 0", inputs={"K": K, "eps": eps}, got=h)


# ---------------------------------------------------------------- RLHF KL penalty


@pytest.mark.equation("information.rlhf_kl_penalty")
@given(data=st.data(), beta=st.sampled_from([0.0, 0.1, 1.0]))
def test_rlhf_kl_penalty_matches_oracle(backend, oracle, equation, data, beta):
    n = data.draw(S.dims(4), label="vocab")
    z = data.draw(S.arrays((n,), exact=True), label="policy_logits")
    r = data.draw(S.arrays((n,), exact=True), label="reference_logits")
    agree(backend, oracle, T, "rlhf_kl_penalty", z, r, beta, equation=equation,
          inputs={"policy_logits": z, "reference_logits": r, "beta": beta})


@pytest.mark.oracle
@pytest.mark.equation("information.rlhf_kl_penalty")
@given(z=S.logits(), data=st.data(), beta=st.floats(0.0, 2.0))
def test_rlhf_kl_penalty_matches_torch_distributions(numeric_backend, equation, z, data, beta):
    """-beta mean_x KL(pi || pi_ref) = -beta mean kl_divergence(Categorical(logits=z), Categorical(logits=r))
    = -beta mean F.kl_div(log pi_ref, log pi, log_target=True).sum(-1) (input = the reference's log-probs)."""
    r = data.draw(S.arrays(z.shape), label="reference_logits")
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    got = b.call(T, "rlhf_kl_penalty", z, r, beta)
    Z, R = torch.tensor(z), torch.tensor(r)
    kl = torch.distributions.kl_divergence(torch.distributions.Categorical(logits=Z),
                                           torch.distributions.Categorical(logits=R))
    kl_div = F.kl_div(R.log_softmax(-1), Z.log_softmax(-1), reduction="none", log_target=True).sum(-1)
    inputs = {"policy_logits": z, "reference_logits": r, "beta": beta}
    for what, k in (("torch.distributions.kl_divergence", kl), ("F.kl_div(log pi_ref, log pi, log_target=True)", kl_div)):
        assert_close(got, (-beta * k.mean()).item(), tol, equation=equation, backend=b.label, inputs=inputs,
                     expected_from=what)
    assert_true(float(got) <= tol.atol, equation=equation, backend=b.label, law="the penalty is <= 0",
                inputs=inputs, got=got)
    assert_close(b.call(T, "rlhf_kl_penalty", z, z + 3.0, beta), 0.0, tol, equation=equation, backend=b.label,
                 inputs={"policy_logits": z}, what="penalty at pi = pi_ref (logits shifted by 3)", expected_from="0")


# ---------------------------------------------------------------- Bradley-Terry and DPO


@pytest.mark.equation("information.bradley_terry")
@given(r1=S.arrays((3,), exact=True), r2=S.arrays((3,), exact=True))
def test_bradley_terry_matches_oracle(backend, oracle, equation, r1, r2):
    agree(backend, oracle, T, "bradley_terry", r1, r2, equation=equation, inputs={"r1": r1, "r2": r2})


@pytest.mark.equation("information.bradley_terry")
@given(r1=S.arrays((4,)), r2=S.arrays((4,)), c=S.small_floats)
def test_bradley_terry_complementary_and_shift_invariant(numeric_backend, equation, r1, r2, c):
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    p12, p21 = b.call(T, "bradley_terry", r1, r2), b.call(T, "bradley_terry", r2, r1)
    inputs = {"r1": r1, "r2": r2, "c": c}
    assert_close(p12 + p21, np.ones(4), tol, equation=equation, backend=b.label, inputs=inputs,
                 what="P(1 > 2) + P(2 > 1)", expected_from="1")
    assert_close(b.call(T, "bradley_terry", r1 + c, r2 + c), p12, tol, equation=equation, backend=b.label,
                 inputs=inputs, what="sigma((r1 + c) - (r2 + c))", expected_from="sigma(r1 - r2)")
    assert_close(p12, torch.sigmoid(torch.tensor(r1 - r2)).numpy(), tol, equation=equation, backend=b.label,
                 inputs=inputs, expected_from="torch.sigmoid(r1 - r2)")


@pytest.mark.equation("information.dpo_loss")
@given(logps=S.arrays((4, 2), exact=True), beta=st.sampled_from([0.1, 0.5, 1.0]))
def test_dpo_loss_matches_oracle(backend, oracle, equation, logps, beta):
    pc, pr, rc, rr = logps
    agree(backend, oracle, T, "dpo_loss", pc, pr, rc, rr, beta, equation=equation,
          inputs={"policy_chosen": pc, "policy_rejected": pr, "reference_chosen": rc, "reference_rejected": rr,
                  "beta": beta})


@pytest.mark.equation("information.dpo_loss", "information.bradley_terry")
@given(logps=S.arrays((4, 5)), beta=st.floats(0.01, 2.0))
def test_dpo_loss_is_bradley_terry_on_implicit_rewards(numeric_backend, equation, logps, beta):
    """DPO = -log BT(beta log(pi/pi_ref)(y_w), beta log(pi/pi_ref)(y_l)) = BCE-with-logits(z, 1);
    log 2 at pi = pi_ref."""
    pc, pr, rc, rr = logps
    b, tol = numeric_backend, numeric_backend.tolerance(equation)
    loss = b.call(T, "dpo_loss", pc, pr, rc, rr, beta)
    inputs = {"logps": logps, "beta": beta}
    bt = b.call(T, "bradley_terry", beta * (pc - rc), beta * (pr - rr))
    assert_close(loss, -np.log(bt), tol, equation=equation, backend=b.label, inputs=inputs,
                 expected_from="-log bradley_terry(beta * chosen log-ratio, beta * rejected log-ratio)")
    z = torch.tensor(beta * ((pc - rc) - (pr - rr)))
    expected = F.binary_cross_entropy_with_logits(z, torch.ones_like(z), reduction="none").numpy()
    assert_close(loss, expected, tol, equation=equation, backend=b.label, inputs=inputs,
                 expected_from="F.binary_cross_entropy_with_logits(beta * margin, 1)")
    assert_close(b.call(T, "dpo_loss", pc, pr, pc, pr, beta), np.full(5, math.log(2)), tol, equation=equation,
                 backend=b.label, inputs=inputs, what="loss at pi = pi_ref", expected_from="log 2")


@pytest.mark.symbolic
@pytest.mark.equation("information.dpo_loss")
def test_dpo_loss_symbolic_gradient_raises_chosen_lowers_rejected():
    """d loss / d log pi(y_w) = -beta sigma(-z) < 0 and d loss / d log pi(y_l) = +beta sigma(-z) > 0."""
    from specs.information import dpo_loss

    pc, pr, rc, rr = sp.symbols("pc pr rc rr", real=True)
    beta = sp.Symbol("beta", positive=True)
    loss = dpo_loss(pc, pr, rc, rr, beta)
    z = beta * ((pc - rc) - (pr - rr))
    sig_neg = 1 / (1 + sp.exp(z))
    assert sp.simplify(sp.diff(loss, pc) + beta * sig_neg) == 0
    assert sp.simplify(sp.diff(loss, pr) - beta * sig_neg) == 0


# ---------------------------------------------------------------- the page's code block

# Inputs of the page's code block (information_theory.md, "Code (with inline comments)",
# lines 242-244 and 267-268), transcribed as data.
_CODE_P = np.array([0.4, 0.3, 0.2, 0.1])
_CODE_Q_GOOD = np.array([0.35, 0.30, 0.20, 0.15])
_CODE_Q_BAD = np.array([0.1, 0.1, 0.1, 0.7])
_CODE_LOGITS = np.array([2.0, 1.5, 0.8, 0.2])


def _page_code_values() -> dict[str, float]:
    """What the page's code prints, recomputed with the project's references (NumPy float64), plus
    its PyTorch verification in the float32 the page uses (F.kl_div on float32 tensors)."""
    ref = Backend("numpy")
    q = scipy.special.softmax(_CODE_LOGITS)
    ce = float(ref.call(T, "cross_entropy", np.eye(4)[0], q))
    t32 = Backend("torch32")
    return {
        "H_p": float(ref.call(T, "entropy", _CODE_P)),
        "H_p_q_good": float(ref.call(T, "cross_entropy", _CODE_P, _CODE_Q_GOOD)),
        "H_p_q_bad": float(ref.call(T, "cross_entropy", _CODE_P, _CODE_Q_BAD)),
        "KL_p_q_good": float(ref.call(T, "kl_divergence", _CODE_P, _CODE_Q_GOOD)),
        "KL_p_q_bad": float(ref.call(T, "kl_divergence", _CODE_P, _CODE_Q_BAD)),
        "KL_p_q_good_float32": float(t32.call(T, "kl_divergence", _CODE_P, _CODE_Q_GOOD)),
        "KL_p_q_bad_float32": float(t32.call(T, "kl_divergence", _CODE_P, _CODE_Q_BAD)),
        "ce_loss_token0": ce,
        "ppl_token0": float(ref.call(T, "perplexity", np.array([ce]))),
    }


@pytest.mark.golden
@pytest.mark.equation("information.entropy", "information.cross_entropy", "information.kl_divergence",
                      "information.perplexity")
def test_entropy_cross_entropy_kl_perplexity_page_code_golden(num_regression):
    """The page's code block prints these values (to 4 and 2 decimals) but the page does not show its
    output: they are pinned here at full precision, and checked against torch's own functions."""
    values = _page_code_values()
    tol32 = tolerance_for("float32")
    P, G, B = (torch.tensor(a, dtype=torch.float32) for a in (_CODE_P, _CODE_Q_GOOD, _CODE_Q_BAD))
    assert tol32.allows(values["KL_p_q_good_float32"], F.kl_div(G.log(), P, reduction="sum").item())
    assert tol32.allows(values["KL_p_q_bad_float32"], F.kl_div(B.log(), P, reduction="sum").item())
    ce = F.cross_entropy(torch.tensor(_CODE_LOGITS[None]), torch.tensor([0])).item()
    assert tolerance_for("float64").allows(values["ce_loss_token0"], ce)
    num_regression.check({k: np.array([v]) for k, v in values.items()}, basename="information_page_code",
                         default_tolerance=dict(rtol=tolerance_for("float64").rtol,
                                                atol=tolerance_for("float64").atol))


@pytest.mark.slow
@pytest.mark.worked_example
@pytest.mark.equation("information.entropy", "information.cross_entropy", "information.kl_divergence",
                      "information.perplexity")
def test_entropy_cross_entropy_kl_perplexity_page_code_output(course_dir):
    """Run the page's code block (read from --course, in a subprocess): every number it prints equals
    the project's recomputation at the printed precision."""
    import re

    from lmverify.pagecode import code_blocks, run
    from lmverify.worked import judge_number, parse_printed

    blocks = code_blocks(course_dir / "information_theory.md")
    assert len(blocks) == 1, f"expected one code block in information_theory.md, found {len(blocks)}"
    r = run(blocks[0])
    where = f"information_theory.md:{blocks[0].line}"
    assert r.returncode == 0, f"{where}: the page's code failed:\n{r.stderr[-2000:]}"
    v = _page_code_values()
    patterns = [
        (r"H\(p\)\s+= ([0-9.]+) nats", "H_p"),
        (r"H\(p, q_good\)\s+= ([0-9.]+) nats", "H_p_q_good"),
        (r"H\(p, q_bad\)\s+= ([0-9.]+) nats", "H_p_q_bad"),
        (r"NumPy from-scratch ===[\s\S]*?KL\(p \|\| q_good\) = ([0-9.]+) nats", "KL_p_q_good"),
        (r"NumPy from-scratch ===[\s\S]*?KL\(p \|\| q_bad\)\s+= ([0-9.]+) nats", "KL_p_q_bad"),
        (r"PyTorch verification ===\nKL\(p \|\| q_good\) = ([0-9.]+)", "KL_p_q_good_float32"),
        (r"PyTorch verification ===\n.*\nKL\(p \|\| q_bad\)\s+= ([0-9.]+)", "KL_p_q_bad_float32"),
        (r"Cross-entropy loss for token 0: ([0-9.]+)", "ce_loss_token0"),
        (r"Per-token perplexity: ([0-9.]+)", "ppl_token0"),
    ]
    problems = []
    for pattern, key in patterns:
        m = re.search(pattern, r.stdout)
        if m is None:
            problems.append(f"{key}: not found in the output")
            continue
        verdict = judge_number(parse_printed(m.group(1), where), v[key])
        if verdict != "correct":
            problems.append(f"{key}: printed {m.group(1)}, recomputed {v[key]!r} ({verdict})")
    assert not problems, f"{where}:\n  " + "\n  ".join(problems) + f"\noutput:\n{r.stdout}"
