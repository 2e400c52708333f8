"""PMI, PPMI, GloVe and the Levy & Goldberg optimum of skip-gram with negative sampling (word_embeddings.md).

PMI and MI across topics: the mutual information (information.mutual_information) is the expectation of
PMI under the joint distribution. The Levy & Goldberg result is derived in SymPy (the derivative of the
per-pair objective set to zero) and confirmed by optimisation on a small co-occurrence table.
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
from lmverify.backends import Backend
from lmverify.registry.embeddings import cooccurrence_counts, sentences_of_ids
from lmverify.tolerance import tolerance_for

T = "embeddings"


# ---------------------------------------------------------------- PMI and PPMI


@pytest.mark.equation("embeddings.pmi")
@S.budget(0.25)
@given(data=st.data())
def test_pmi_symmetric_for_a_symmetric_matrix(check, data):
    X = data.draw(cooccurrence_counts(max_side=4), label="X0")
    n = min(X.shape)
    X = X[:n, :n] + X[:n, :n].T
    P = check.call(X=X)
    check.close(P, P.T, what="PMI^T", expected_from="PMI (X is symmetric)")


@pytest.mark.equation("embeddings.pmi")
@S.budget(0.25)
@given(data=st.data())
def test_pmi_zero_for_independent_words(check, data):
    a = np.asarray(data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=4), label="row weights"), float)
    b = np.asarray(data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=4), label="column weights"), float)
    P = check.call(X=np.outer(a, b))
    check.close(P, np.zeros_like(P), what="PMI of an outer product", expected_from="P(w, c) = P(w) P(c)")


@pytest.mark.equation("embeddings.pmi")
@S.budget(0.25)
@given(data=st.data())
def test_pmi_zero_count_is_minus_inf_and_ppmi_clips_it(check, data):
    X = data.draw(cooccurrence_counts(), label="X")
    P = check.call(X=X)
    check.law(np.all(np.isneginf(P[X == 0])), "PMI = -inf exactly where X = 0", got=P)
    check.law(not np.any(np.isnan(P)), "no NaN", got=P)
    Q = check.call("ppmi", X=X)
    check.law(np.all(Q[X == 0] == 0), "PPMI = 0 where X = 0", got=Q)
    check.law(np.all(Q >= 0), "PPMI >= 0", got=Q)
    pos = P > 0
    check.close(Q[pos], P[pos], what="PPMI where PMI > 0", expected_from="PMI")


@pytest.mark.equation("embeddings.pmi")
@S.budget(0.25)
@given(data=st.data())
def test_pmi_invariant_to_scaling_the_counts(check, data):
    X = data.draw(cooccurrence_counts(), label="X")
    s = data.draw(st.sampled_from([0.5, 3.0, 1024.0]), label="s")
    P = check.call(X=X)
    check.close(check.call(X=s * X), P, what="PMI(s X)", expected_from="PMI(X): probabilities do not change")


@pytest.mark.equation("embeddings.pmi", "embeddings.ppmi")
@pytest.mark.parametrize("form", ["sympy", "numpy", "torch64", "torch32"])
def test_pmi_bad_counts_are_refused(form):
    b = Backend(form)
    with pytest.raises(ValueError, match="no positive count"):
        b.call(T, "pmi", np.zeros((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        b.call(T, "ppmi", np.array([[1.0, np.nan]]))


@pytest.mark.equation("embeddings.pmi")
@S.budget(0.25)
@given(data=st.data())
def test_pmi_expectation_is_mutual_information(check, data):
    """I(W; C) = sum_{w,c} P(w, c) PMI(w, c) (zero cells contribute nothing): the embeddings topic's PMI against
    the information topic's mutual_information."""
    X = data.draw(cooccurrence_counts(), label="X")
    Pwc = X / X.sum()
    P = check.call(X=X)
    nz = X > 0
    expectation = float(np.sum(Pwc[nz] * P[nz]))
    mi = float(check.call("information.mutual_information", pxy=Pwc))
    check.close(expectation, mi, what="E_{P(w,c)}[PMI(w, c)]", expected_from="information.mutual_information")


@pytest.mark.symbolic
@pytest.mark.equation("embeddings.pmi")
def test_pmi_expectation_is_mutual_information_exactly():
    import specs.embeddings as spec
    import specs.information as info

    X = sp.Matrix([[3, 1, 0], [1, 2, 4]])
    N = sum(X)
    P = spec.pmi(X)
    expectation = sum((X[i, j] / N) * P[i, j] for i in range(2) for j in range(3) if X[i, j] != 0)
    assert sp.simplify(sp.expand_log(expectation - info.mutual_information(X / N), force=True)) == 0


# ---------------------------------------------------------------- Levy & Goldberg: SGNS optimum = PMI - log k


@pytest.mark.symbolic
@pytest.mark.equation("embeddings.negative_sampling_pmi_optimum")
def test_negative_sampling_pmi_optimum_derived_symbolically():
    """d/dx [#(w,c) log sigma(x) + k #(w)#(c)/|D| log sigma(-x)] = 0 has the single root PMI(w, c) - log k,
    and the second derivative there is negative: a maximum."""
    import specs.embeddings as spec

    roots, second, target = spec.sgns_stationary_point()
    assert len(roots) == 1, roots
    assert sp.simplify(sp.expand_log(roots[0] - target, force=True)) == 0, (roots[0], target)
    assert all(s.is_negative for s in second), second


def _newton_per_cell(X: np.ndarray, k: float) -> np.ndarray:
    """Maximise the SGNS objective cell by cell (it is separable in S) with Newton's method from S = 0."""
    N = X.sum()
    e = k * np.outer(X.sum(1), X.sum(0)) / N
    S_ = np.zeros_like(X)
    for _ in range(100):
        sig = 1 / (1 + np.exp(-S_))
        g = X * (1 - sig) - e * sig
        h = -(X + e) * sig * (1 - sig)
        S_ = S_ - g / h
    return S_


@pytest.mark.equation("embeddings.negative_sampling_pmi_optimum")
@pytest.mark.numeric
@S.budget(0.25)
@given(data=st.data())
def test_negative_sampling_pmi_optimum_is_the_maximiser(check, data):
    X = data.draw(cooccurrence_counts(max_side=3, full=True), label="X")
    k = data.draw(st.integers(1, 5), label="k")
    optimum = check.call(X=X, k=k)
    check.close(_newton_per_cell(X, k), optimum, what="argmax_S of the SGNS objective (Newton, per cell)",
                expected_from="PMI - log k")
    # the gradient of the objective vanishes there (torch autograd, float64)
    S_ = torch.tensor(check.reference(X=X, k=k), requires_grad=True)
    Backend("torch64").fn(T, "sgns_objective")(S_, torch.tensor(X), k).backward()
    scale = X.sum()
    check.law(np.all(np.abs(S_.grad.numpy()) <= tolerance_for("float64").atol * scale),
              "the gradient of the SGNS objective vanishes at PMI - log k (relative to the total count)",
              got=S_.grad.numpy())


@pytest.mark.slow
@pytest.mark.equation("embeddings.negative_sampling_pmi_optimum")
@pytest.mark.numeric
def test_negative_sampling_pmi_optimum_reached_by_full_rank_factors():
    """Optimising word and context vectors (d = number of contexts, so W C^T can be any matrix) with L-BFGS on a
    small table reaches v'_c . v_w = PMI - log k. The bound is derived from the final gradient: the objective
    is separable and strongly concave in S, so |S - S*| <= |dJ/dS| / min curvature."""
    X = np.array([[10.0, 3.0, 1.0], [3.0, 8.0, 2.0], [1.0, 2.0, 6.0]])
    k = 2
    target = Backend("numpy").call(T, "sgns_optimum", X, k)
    g = torch.Generator().manual_seed(0)
    W = torch.randn(3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    C = torch.randn(3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    Xt = torch.tensor(X)
    objective = Backend("torch64").fn(T, "sgns_objective")
    opt = torch.optim.LBFGS([W, C], max_iter=500, tolerance_grad=1e-13, tolerance_change=1e-15,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = -objective(W @ C.T, Xt, k)
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    S_ = (W @ C.T).detach().requires_grad_(True)
    objective(S_, Xt, k).backward()
    e = k * np.outer(X.sum(1), X.sum(0)) / X.sum()
    sig = 1 / (1 + np.exp(-S_.detach().numpy()))
    curvature = np.min((X + e) * sig * (1 - sig))
    bound = float(np.max(np.abs(S_.grad.numpy()))) / curvature * 1.01 + tolerance_for("float64").atol
    err = float(np.max(np.abs(S_.detach().numpy() - target)))
    assert err <= bound and bound < 1e-5, f"|W C^T - (PMI - log k)| = {err:.3g}, derived bound {bound:.3g}"


# ---------------------------------------------------------------- GloVe


@pytest.mark.equation("embeddings.glove_cooccurrence")
@S.budget(0.25)
@given(data=st.data())
def test_glove_cooccurrence_symmetric_with_twice_the_pairs(check, data):
    V = data.draw(st.integers(1, 5), label="V")
    sents = data.draw(st.lists(sentences_of_ids(V, max_len=7), min_size=1, max_size=3), label="sentences")
    window = data.draw(st.integers(1, 3), label="window")
    X = check.call(sentences=sents, V=V, window=window)
    check.exactly(X, X.T, what="X^T", expected_from="X (a symmetric window)")
    n_pairs = sum(sum(min(t, window) + min(len(s) - 1 - t, window) for t in range(len(s))) / 2 for s in sents)
    check.exactly(X.sum(), 2.0 * n_pairs, what="total mass", expected_from="each pair within the window, both ways")


@pytest.mark.equation("embeddings.glove_cooccurrence")
@S.budget(0.25)
@given(data=st.data())
def test_glove_cooccurrence_of_a_corpus_is_the_sum_of_its_sentences(check, data):
    V = data.draw(st.integers(1, 4), label="V")
    sents = data.draw(st.lists(sentences_of_ids(V, max_len=6), min_size=2, max_size=3), label="sentences")
    w = data.draw(st.sampled_from(["count", "harmonic"]), label="weighting")
    X = check.call(sentences=sents, V=V, window=2, weighting=w)
    parts = sum(check.call(sentences=[s], V=V, window=2, weighting=w) for s in sents)
    check.close(X, parts, what="X(corpus)", expected_from="sum of X(sentence)")


@pytest.mark.equation("embeddings.glove_cooccurrence")
def test_glove_cooccurrence_harmonic_weighting(check):
    """GloVe's own counting: a context word d positions away adds 1/d."""
    X = check.call(sentences=[[0, 1, 2]], V=3, window=2, weighting="harmonic")
    check.close(X, np.array([[0, 1, 0.5], [1, 0, 1], [0.5, 1, 0]]), what="X", expected_from="1/distance by hand")


@pytest.mark.equation("embeddings.glove_weighting")
@S.budget(0.25)
@given(data=st.data())
def test_glove_weighting_function_properties(check, data):
    x = np.array(sorted(data.draw(st.lists(st.integers(0, 400), min_size=1, max_size=6), label="x")), dtype=float)
    f = check.call(x=x)
    check.law(np.all(np.diff(f) >= -check.tol.atol), "non-decreasing", got=f)
    check.law(np.all(f <= 1 + check.tol.atol), "capped at 1", got=f)
    check.close(f[x >= 100], np.ones(int(np.sum(x >= 100))), what="f(x >= x_max)", expected_from="1 (defaults x_max = 100)")
    check.close(check.call(x=np.array([0.0, 100.0, 50.0])), np.array([0.0, 1.0, 0.5 ** 0.75]),
                what="f(0), f(x_max), f(x_max / 2)", expected_from="0, 1, (1/2)^(3/4) (default alpha = 3/4)")


@pytest.mark.equation("embeddings.glove_loss")
@S.budget(0.25)
@given(data=st.data())
def test_glove_loss_ignores_zero_cells(check, data):
    from lmverify.registry.embeddings import EQUATIONS

    entry = next(e for e in EQUATIONS if e.id == "embeddings.glove_loss")
    kw = data.draw(entry.inputs(exact=check.exact), label="inputs")
    J = check.call(**kw)
    X = kw["X"]
    terms = []
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if X[i, j] > 0:
                r = kw["W"][i] @ kw["W_tilde"][j] + kw["b"][i] + kw["b_tilde"][j] - math.log(X[i, j])
                terms.append(min((X[i, j] / kw["x_max"]) ** kw["alpha"], 1.0) * r * r)
    check.close(J, sum(terms), what="J", expected_from="the sum over the nonzero cells only, by hand")


@pytest.mark.oracle
@pytest.mark.equation("embeddings.glove_loss")
@S.budget(0.25)
@given(data=st.data())
def test_glove_loss_gradient_closed_form_equals_autograd(numeric_backend, data):
    """dJ/dw_i = sum_j 2 f(X_ij) r_ij w~_j, dJ/dw~_j = sum_i 2 f r_ij w_i, dJ/db_i = sum_j 2 f r_ij, against autograd."""
    from lmverify.registry.embeddings import EQUATIONS

    entry = next(e for e in EQUATIONS if e.id == "embeddings.glove_loss")
    kw = data.draw(entry.inputs(exact=False), label="inputs")
    t = {k: torch.tensor(kw[k], requires_grad=True) for k in ("W", "W_tilde", "b", "b_tilde")}
    Backend("torch64").fn(T, "glove_loss")(t["W"], t["W_tilde"], t["b"], t["b_tilde"], torch.tensor(kw["X"]),
                                           kw["x_max"], kw["alpha"]).backward()
    X = kw["X"]
    nz = X > 0
    f = np.where(nz, np.minimum((X / kw["x_max"]) ** kw["alpha"], 1.0), 0.0)
    r = kw["W"] @ kw["W_tilde"].T + kw["b"][:, None] + kw["b_tilde"][None, :] - np.log(np.where(nz, X, 1.0))
    G = 2 * f * r
    tol = tolerance_for("float64")
    for name, closed in (("W", G @ kw["W_tilde"]), ("W_tilde", G.T @ kw["W"]), ("b", G.sum(1)), ("b_tilde", G.sum(0))):
        got = t[name].grad.numpy()
        assert np.all(np.abs(got - closed) <= tol.atol + tol.rtol * np.abs(closed)), (name, got, closed)


@pytest.mark.equation("embeddings.glove_loss")
@pytest.mark.numeric
def test_glove_loss_optimisation_fits_log_counts():
    """A small optimisation (L-BFGS, d = V so the fit is exact) reaches w_i . w~_j + b_i + b~_j = log X_ij on every
    nonzero cell of a toy matrix. The residual bound is derived from the loss: J >= f(X_ij) r_ij^2."""
    X = Backend("numpy").call(T, "cooccurrence_matrix",
                              [[0, 1, 3], [1, 2, 4], [0, 3, 1], [2, 4, 2, 1], [3, 0, 0, 1]], 5, 2, "harmonic")
    V = X.shape[0]
    g = torch.Generator().manual_seed(0)
    params = [torch.randn(V, V, generator=g, dtype=torch.float64, requires_grad=True) for _ in range(2)] + \
             [torch.zeros(V, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    loss_fn = Backend("torch64").fn(T, "glove_loss")
    Xt = torch.tensor(X)
    opt = torch.optim.LBFGS(params, max_iter=1000, tolerance_grad=1e-14, tolerance_change=1e-16,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = loss_fn(*params, Xt)
        loss.backward()
        return loss

    for _ in range(5):
        opt.step(closure)
    J = float(loss_fn(*params, Xt).detach())
    nz = X > 0
    f_min = float(np.min(np.minimum((X[nz] / 100.0) ** 0.75, 1.0)))
    bound = math.sqrt(J / f_min)
    W, Wt, b, bt = (p.detach().numpy() for p in params)
    r = (W @ Wt.T + b[:, None] + bt[None, :] - np.log(np.where(nz, X, 1.0)))[nz]
    assert np.max(np.abs(r)) <= bound + tolerance_for("float64").atol, (np.max(np.abs(r)), bound)
    assert bound < 1e-5, f"the fit did not reach log X: residual bound {bound:.3g} (J = {J:.3g})"
