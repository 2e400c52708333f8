"""A correct student module for the information equations that have known mistakes, written from
information_theory.md's equations (must pass with no hint).
"""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = []


def _xlogy(x, y):
    """x log y with 0 log y = 0 (a zero mass adds nothing, even where y = 0)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def _ln(base):
    return 1.0 if base is None else np.log(base)

def _log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def entropy(p, base=None):
    """H(p) = -sum p log p (0 log 0 = 0), in nats or in the given base."""
    return -np.sum(_xlogy(p, p), axis=-1) / _ln(base)


def cross_entropy(p, q, base=None):
    """H(p, q) = -sum p log q."""
    return -np.sum(_xlogy(p, q), axis=-1) / _ln(base)


def kl_divergence(p, q, base=None):
    """KL(p || q) = sum p log(p / q)."""
    return np.sum(_xlogy(p, p) - _xlogy(p, q), axis=-1) / _ln(base)


def reverse_kl_divergence(p, q, base=None):
    """The reverse KL(q || p)."""
    return kl_divergence(q, p, base)


def perplexity(nll, base=None):
    """PPL = base ** (mean NLL), e ** (mean NLL) for nats."""
    b = np.e if base is None else base
    return b ** np.mean(np.asarray(nll, dtype=np.float64), axis=-1)


def average_nll(q_true, base=None):
    """-(1/T) sum_t log q(w_t)."""
    with np.errstate(divide="ignore"):
        return -np.mean(np.log(np.asarray(q_true, dtype=np.float64)), axis=-1) / _ln(base)


def rlhf_kl_penalty(policy_logits, reference_logits, beta):
    """-beta * mean over contexts of KL(pi || pi_ref)."""
    log_pi, log_ref = _log_softmax(policy_logits), _log_softmax(reference_logits)
    kl = np.sum(np.exp(log_pi) * (log_pi - log_ref), axis=-1)
    return -beta * np.mean(kl)


def cross_entropy_gradient(p, logits):
    """dH(p, softmax(theta)) / d theta = softmax(theta) - p."""
    return np.exp(_log_softmax(logits)) - np.asarray(p, dtype=np.float64)


def mutual_information(pxy, base=None):
    """I(X; Y) = sum p(x, y) log(p(x, y) / (p(x) p(y)))."""
    pxy = np.asarray(pxy, dtype=np.float64)
    prod = pxy.sum(axis=-1)[..., :, None] * pxy.sum(axis=-2)[..., None, :]
    return np.sum(_xlogy(pxy, pxy) - _xlogy(pxy, prod), axis=(-2, -1)) / _ln(base)


def bradley_terry(r1, r2):
    """P(1 preferred to 2) = sigma(r1 - r2)."""
    d = np.asarray(r1, dtype=np.float64) - np.asarray(r2, dtype=np.float64)
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-d))


def dpo_loss(policy_chosen_logp, policy_rejected_logp, reference_chosen_logp, reference_rejected_logp, beta):
    """-log sigma(beta * (chosen log-ratio - rejected log-ratio)), as log(1 + exp(-z))."""
    z = beta * ((np.asarray(policy_chosen_logp) - reference_chosen_logp)
                - (np.asarray(policy_rejected_logp) - reference_rejected_logp))
    return np.logaddexp(0.0, -z)


def jensen_shannon_divergence(p, q, base=None):
    """JSD = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2."""
    m = (np.asarray(p, dtype=np.float64) + np.asarray(q, dtype=np.float64)) / 2
    return 0.5 * kl_divergence(p, m, base) + 0.5 * kl_divergence(q, m, base)


def label_smoothing_targets(target, num_classes, epsilon, convention="page"):
    """'page': 1 - eps on the target, eps / (K - 1) elsewhere; 'torch': (1 - eps) one-hot + eps / K."""
    onehot = np.eye(num_classes)[np.asarray(target)]
    if convention == "page":
        return onehot * (1 - epsilon) + (1 - onehot) * epsilon / (num_classes - 1)
    return onehot * (1 - epsilon) + epsilon / num_classes
