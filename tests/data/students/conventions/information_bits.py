"""Information measures as d2l-style helpers write them (the suite's own test data): base-2 logarithms (bits),
no `base` parameter, one distribution at a time for the cross-entropy, and a "loss" (the negative
log-likelihood) where the suite's equation is the log-likelihood."""

import numpy as np

LMVERIFY = {
    "entropy": dict(units="bits"),
    "cross_entropy": dict(use="xent", units="bits", params={"p": "p_true", "q": "q_model"}, batch="none"),
    "kl_divergence": dict(use="kl", units="bits"),
    "sequence_log_likelihood": dict(use="nll_loss_per_sequence", sign="negated", batch="one"),
}


def entropy(p):
    p = np.asarray(p, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log2(np.where(p > 0, p, 1.0)), 0.0)
    return np.where(np.isnan(p).any(axis=-1), np.nan, terms.sum(axis=-1))


def xent(p_true, q_model):
    if p_true.ndim != 1:
        raise ValueError("one distribution at a time")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p_true > 0, -p_true * np.log2(q_model), 0.0)
    return terms.sum()


def kl(p, q):
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log2(np.where(p > 0, p, 1.0)) - np.log2(q)), 0.0)
    return terms.sum(axis=-1)


def nll_loss_per_sequence(logits, targets):
    """(N, T, V) logits and (N, T) targets -> (N,) the negative log-likelihood of each sequence."""
    m = logits.max(axis=-1, keepdims=True)
    logp = logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(logp, targets[..., None].astype(np.int64), axis=-1)[..., 0]
    return -picked.sum(axis=-1)
