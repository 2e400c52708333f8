"""RLHF's KL penalty, Bradley-Terry and DPO (information_theory.md, "Connection to RLHF's KL Penalty",
"DPO and Log-Ratio Views").

Agreement with the oracle, signatures, pinned extremes (logits and margins of +-1e4), batching,
gradients, refused inputs (beta out of range) and known mistakes (the penalty's sign, reverse KL,
swapped preferences, a missing beta) are generated from lmverify/registry/information.py
(tests/test_equations.py). Here: the laws, the SymPy gradient of DPO, and the oracles
torch.distributions.kl_divergence, F.kl_div, torch.sigmoid and F.binary_cross_entropy_with_logits.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from lmverify import strategies as S


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.rlhf_kl_penalty")
@given(z=S.logits(), data=st.data(), beta=st.floats(0.0, 2.0))
def test_rlhf_kl_penalty_matches_torch_distributions(check, z, data, beta):
    """-beta mean_x KL(pi || pi_ref) = -beta mean kl_divergence(Categorical(logits=z), Categorical(logits=r))
    = -beta mean F.kl_div(log pi_ref, log pi, log_target=True).sum(-1) (input = the reference's log-probs)."""
    r = data.draw(S.arrays(z.shape), label="reference_logits")
    Z, R = torch.tensor(z), torch.tensor(r)
    kl = torch.distributions.kl_divergence(torch.distributions.Categorical(logits=Z),
                                           torch.distributions.Categorical(logits=R))
    kl_div = F.kl_div(R.log_softmax(-1), Z.log_softmax(-1), reduction="none", log_target=True).sum(-1)
    at_reference = check.call(policy_logits=z, reference_logits=z + 3.0, beta=beta)
    check.close(at_reference, 0.0, what="penalty at pi = pi_ref (logits shifted by 3)", expected_from="0")
    got = check.call(policy_logits=z, reference_logits=r, beta=beta)
    for what, k in (("torch.distributions.kl_divergence", kl), ("F.kl_div(log pi_ref, log pi, log_target=True)", kl_div)):
        check.close(got, (-beta * k.mean()).item(), expected_from=what)
    check.law(float(got) <= check.tol.atol, "the penalty is <= 0", got=got)


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.bradley_terry")
@given(r1=S.arrays((4,)), r2=S.arrays((4,)), c=S.small_floats)
def test_bradley_terry_complementary_and_shift_invariant(check, r1, r2, c):
    p21 = check.call(r1=r2, r2=r1)
    shifted = check.call(r1=r1 + c, r2=r2 + c)
    p12 = check.call(r1=r1, r2=r2)
    check.inputs["c"] = c
    check.close(p12 + p21, np.ones(4), what="P(1 > 2) + P(2 > 1)", expected_from="1")
    check.close(shifted, p12, what="sigma((r1 + c) - (r2 + c))", expected_from="sigma(r1 - r2)")
    check.close(p12, torch.sigmoid(torch.tensor(r1 - r2)).numpy(), expected_from="torch.sigmoid(r1 - r2)")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.dpo_loss", "information.bradley_terry")
@given(logps=S.arrays((4, 5)), beta=st.floats(0.01, 2.0))
def test_dpo_loss_is_bradley_terry_on_implicit_rewards(check, logps, beta):
    """DPO = -log BT(beta log(pi/pi_ref)(y_w), beta log(pi/pi_ref)(y_l)) = BCE-with-logits(z, 1);
    log 2 at pi = pi_ref."""
    pc, pr, rc, rr = logps
    bt = check.call("bradley_terry", r1=beta * (pc - rc), r2=beta * (pr - rr))
    at_reference = check.call(policy_chosen_logp=pc, policy_rejected_logp=pr, reference_chosen_logp=pc,
                              reference_rejected_logp=pr, beta=beta)
    check.close(at_reference, np.full(5, math.log(2)), what="loss at pi = pi_ref", expected_from="log 2")
    loss = check.call(policy_chosen_logp=pc, policy_rejected_logp=pr, reference_chosen_logp=rc,
                      reference_rejected_logp=rr, beta=beta)
    check.close(loss, -np.log(bt), expected_from="-log bradley_terry(beta * chosen log-ratio, beta * rejected log-ratio)")
    z = torch.tensor(beta * ((pc - rc) - (pr - rr)))
    check.close(loss, F.binary_cross_entropy_with_logits(z, torch.ones_like(z), reduction="none").numpy(),
                expected_from="F.binary_cross_entropy_with_logits(beta * margin, 1)")


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
