"""Average NLL and perplexity (information_theory.md, "Perplexity = exp(cross-entropy)").

Agreement with the oracle, signatures, pinned extremes (NLL 0, 1e-30, 50 nats), batching, gradients,
refused inputs and known mistakes (exp of the sum, the base ignored, a sum for a mean) are generated
from lmverify/registry/information.py (tests/test_equations.py). Here: the laws and the oracle
exp(torch.nn.functional.cross_entropy).
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
@pytest.mark.equation("information.perplexity", "information.perplexity_bits", "information.perplexity_chain")
@given(nll=S.nll_sequences)
def test_perplexity_is_exp_mean_nll_and_two_to_the_bits(check, nll):
    in_bits = check.call(nll=nll / math.log(2), base=2.0)
    ppl = check.call(nll=nll)
    check.close(ppl, np.exp(nll.mean()), expected_from="exp(mean NLL)")
    check.close(in_bits, ppl, what="2 ** (mean NLL in bits)", expected_from="exp(mean NLL in nats)")


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("information.perplexity", "information.average_nll")
@given(logits=S.logits(max_rows=6, max_len=5), data=st.data())
def test_perplexity_equals_exp_of_torch_cross_entropy_loss(check, logits, data):
    """PPL of a token sequence = exp(F.cross_entropy(logits, targets)) (mean reduction) = exp(average NLL)."""
    rows, n = logits.shape
    y = np.array([data.draw(st.integers(0, n - 1)) for _ in range(rows)])
    q_true = scipy.special.softmax(logits, axis=-1)[np.arange(rows), y]
    loss = F.cross_entropy(torch.tensor(logits), torch.tensor(y)).item()
    check.close(check.call("average_nll", q_true=q_true), loss, what="average NLL",
                expected_from="F.cross_entropy(logits, y)")
    check.close(check.call(nll=-np.log(q_true)), math.exp(loss), expected_from="exp(F.cross_entropy(logits, y))")


@pytest.mark.numeric
@pytest.mark.equation("information.perplexity")
@pytest.mark.parametrize("vocab", [2, 30, 50, 50_000])
def test_perplexity_of_uniform_model_is_vocabulary_size(check, vocab):
    """The page's reading (lines 140, 149): a model uniform over V choices has perplexity V."""
    check.close(check.call(nll=np.full(7, math.log(vocab))), float(vocab), expected_from="V")
