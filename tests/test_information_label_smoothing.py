"""Label smoothing (information_theory.md, "Deep Dive (Label Smoothing vs. True Entropy)").

Agreement with the oracle, signatures, pinned inputs (the page's K = 4, eps = 0.1; eps = 1), batching,
refused inputs and the known mistake eps/K in the page's convention are generated from
lmverify/registry/information.py (tests/test_equations.py). Here: the two conventions and their
relation, the oracle F.cross_entropy(label_smoothing=eps), and what smoothing does to the loss.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from lmverify import strategies as S


@pytest.mark.numeric
@pytest.mark.equation("information.label_smoothing")
@given(K=st.integers(2, 8), eps=st.floats(0.0, 1.0), data=st.data())
def test_label_smoothing_conventions_differ_by_rescaled_epsilon(check, K, eps, data):
    """Both are distributions; page target mass 1 - eps, torch 1 - eps + eps/K; torch's eps equals the
    page's with eps' = eps (K - 1) / K."""
    y = [data.draw(st.integers(0, K - 1)) for _ in range(3)]
    rescaled = check.call(target=y, num_classes=K, epsilon=eps * (K - 1) / K, convention="page")
    torch_ = check.call(target=y, num_classes=K, epsilon=eps, convention="torch")
    page = check.call(target=y, num_classes=K, epsilon=eps, convention="page")
    for name, t in (("page", page), ("torch", torch_)):
        check.close(t.sum(-1), np.ones(3), what=f"{name} targets' row sums", expected_from="1")
    check.close(page[np.arange(3), y], np.full(3, 1 - eps), what="page target mass", expected_from="1 - eps")
    check.close(torch_[np.arange(3), y], np.full(3, 1 - eps + eps / K), what="torch target mass",
                expected_from="1 - eps + eps/K")
    check.close(torch_, rescaled, what="torch convention", expected_from="page convention with eps (K-1)/K")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.label_smoothing")
@given(logits=S.logits(max_len=6), eps=st.sampled_from([0.0, 0.05, 0.1, 0.3]), data=st.data())
def test_label_smoothing_torch_convention_matches_F_cross_entropy(check, logits, eps, data):
    """F.cross_entropy(logits, y, label_smoothing=eps) = H(targets with eps/K, softmax(logits))."""
    rows, K = logits.shape
    if K < 2:
        return
    y = [data.draw(st.integers(0, K - 1)) for _ in range(rows)]
    q = scipy.special.softmax(logits, axis=-1)
    expected = F.cross_entropy(torch.tensor(logits), torch.tensor(y), label_smoothing=eps, reduction="none").numpy()
    targets = check.call(target=y, num_classes=K, epsilon=eps, convention="torch")
    check.close(check.call("cross_entropy", p=targets, q=q), expected,
                expected_from="F.cross_entropy(..., label_smoothing=eps)")


@pytest.mark.equation("information.label_smoothing")
@pytest.mark.parametrize("convention", ["page", "torch"])
def test_label_smoothing_zero_model_mass_makes_cross_entropy_infinite(check, convention):
    """A model with q = 0 on a non-target class: finite loss against the hard one-hot target, but an
    INFINITE loss against a smoothed target (every class has target mass > 0) - the opposite of the
    page's line 294."""
    q = np.array([0.9, 0.0, 0.05, 0.05])
    smoothed = check.call(target=0, num_classes=4, epsilon=0.1, convention=convention)
    hard = float(check.call("cross_entropy", p=np.array([1.0, 0.0, 0.0, 0.0]), q=q))
    check.law(math.isfinite(hard), "hard target: q = 0 off-target costs nothing (0 log 0 = 0)", got=hard)
    smooth = float(check.call("cross_entropy", p=smoothed, q=q))
    check.law(smooth == math.inf, "smoothed target: q = 0 on any class gives H = inf (not NaN)", got=smooth)


@pytest.mark.numeric
@pytest.mark.equation("information.label_smoothing")
@given(K=st.integers(2, 6), eps=st.sampled_from([0.05, 0.1, 0.3]))
def test_label_smoothing_raises_the_minimum_cross_entropy(check, K, eps):
    """min_q H(p_smooth, q) = H(p_smooth) > 0 = min_q H(one-hot, q): smoothing raises the attainable loss."""
    t = check.call(target=0, num_classes=K, epsilon=eps, convention="page")
    h = float(check.call("entropy", p=t))
    check.close(check.call("cross_entropy", p=t, q=t), h, expected_from="H(p_smooth) (attained at q = p_smooth)")
    check.law(h > 0, "H(p_smooth) > 0", got=h)
