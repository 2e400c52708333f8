"""Information theory, NumPy float64 reference (course page: information_theory.md).

One function per equation of the page, one line per step where the page has one.
Distributions lie along the LAST axis (a joint p(x, y) along the last two) and every
function batches over leading axes.

Conventions (tested in tests/test_information_*.py, written up in docs/information.md):

* ``base=None`` gives nats (natural log), ``base=2`` bits; any base > 0, != 1.
* 0 log 0 = 0 (``scipy.special.xlogy`` semantics), so a zero of p contributes nothing.
* cross-entropy and KL are ``inf`` - never NaN - when q is 0 where p > 0.
* inputs are validated by one helper per backend, ``_check_distribution`` (here, in
  reference/torch/information.py and in specs/information.py, all with the threshold
  :data:`PROBABILITY_SUM_TOL` defined here): NaN, infinite or negative mass, or a
  distribution whose sum is further than ``PROBABILITY_SUM_TOL`` from one raise ValueError
  naming the function and the argument.
* label smoothing has two conventions: ``"page"`` (1 - eps on the target, eps/(K-1)
  elsewhere, as the page's formula says) and ``"torch"`` ((1 - eps) one-hot + eps/K,
  what ``torch.nn.functional.cross_entropy(label_smoothing=eps)`` uses).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, xlogy
from reference.numpy._common import log_softmax

# -- validation and helpers -----------------------------------------------------------

#: How far from one the sum of a probability vector may be, in every backend (NumPy, PyTorch
#: float32/float64, SymPy) and for the ngram topic's probabilities and simplex weights too.
#: A float64 distribution stored in float32 moves each entry by at most 2**-24 relative, so its
#: sum (taken in float64) moves by at most 6e-8; a float32 softmax over a few dozen entries sums to
#: one within a few 1e-7. 1e-6 accepts both and still rejects any real normalisation error
#: (a missing entry, an unnormalised count vector), which is off by 1e-2 or more.
PROBABILITY_SUM_TOL = 1e-6


def _check_distribution(p, name: str, fn: str, axes: int = 1) -> np.ndarray:
    """p as float64; ValueError (naming ``fn`` and ``name``) unless it is a distribution over its last ``axes`` axes."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim < axes:
        raise ValueError(f"{fn}: {name} must have at least {axes} axis/axes (the distribution axis is last), "
                         f"got shape {p.shape}")
    if np.isnan(p).any():
        raise ValueError(f"{fn}: {name} contains NaN where a probability is expected")
    if np.isinf(p).any():
        raise ValueError(f"{fn}: {name} contains an infinite value where a probability is expected")
    if (p < 0).any():
        raise ValueError(f"{fn}: {name} has negative mass (smallest entry {p.min()!r})")
    sums = p.sum(axis=tuple(range(-axes, 0)))
    bad = np.abs(sums - 1.0) > PROBABILITY_SUM_TOL
    if np.any(bad):
        raise ValueError(f"{fn}: {name} must sum to one over its last {'axis' if axes == 1 else f'{axes} axes'} "
                         f"(within {PROBABILITY_SUM_TOL:g}); sums are {np.atleast_1d(sums)[np.atleast_1d(bad)][:3]}")
    return p


def _log_base(base) -> float:
    """ln(base): divide natural logs by it (None: nats, 1.0)."""
    if base is None:
        return 1.0
    if not (np.isfinite(base) and base > 0 and base != 1):
        raise ValueError(f"base must be a positive number other than 1 (or None for nats), got {base!r}")
    return math.log(base)


def _log_softmax(z) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    if np.isnan(z).any():
        raise ValueError("logits contain NaN")
    return log_softmax(z)


# -- entropy, cross-entropy, KL ---------------------------------------------------------


def check_same_outcomes(fn, p_len, q_len):
    """p and q must be distributions over the same outcomes (shared by the three forms)."""
    if p_len != q_len:
        raise ValueError(f"{fn}: p has {p_len} outcomes but q has {q_len}: the two distributions must be over "
                         "the same outcomes (the same last-axis length)")


def check_token_axis(fn, name, ndim):
    """A per-token array needs its token axis (the last): a 0-d value is a named error, not an AxisError."""
    if ndim == 0:
        raise ValueError(f"{fn}: {name} must have a token axis (shape (..., T)), got a 0-d value; "
                         "pass a list of one value for a single token")


def check_not_empty(fn, name, n):
    if n == 0:
        raise ValueError(f"{fn}: {name} is empty: at least one token is needed (the mean of nothing is undefined)")


def entropy(p, base=None):
    """H(X) = -sum_x p(x) log p(x), with 0 log 0 = 0."""
    p = _check_distribution(p, "p", "entropy")
    return -np.sum(xlogy(p, p), axis=-1) / _log_base(base)


def cross_entropy(p, q, base=None):
    """H(p, q) = -sum_x p(x) log q(x); inf where q = 0 but p > 0."""
    p = _check_distribution(p, "p", "cross_entropy")
    q = _check_distribution(q, "q", "cross_entropy")
    check_same_outcomes("cross_entropy", p.shape[-1], q.shape[-1])
    return -np.sum(xlogy(p, q), axis=-1) / _log_base(base)


def kl_divergence(p, q, base=None):
    """Forward KL: D_KL(p || q) = sum_x p(x) log(p(x) / q(x)); inf where q = 0 but p > 0."""
    p = _check_distribution(p, "p", "kl_divergence")
    q = _check_distribution(q, "q", "kl_divergence")
    check_same_outcomes("kl_divergence", p.shape[-1], q.shape[-1])
    return np.sum(xlogy(p, p) - xlogy(p, q), axis=-1) / _log_base(base)


def reverse_kl_divergence(p, q, base=None):
    """Reverse KL: D_KL(q || p), the expectation under q (mode-seeking when q is fitted)."""
    p = _check_distribution(p, "p", "reverse_kl_divergence")
    q = _check_distribution(q, "q", "reverse_kl_divergence")
    check_same_outcomes("reverse_kl_divergence", p.shape[-1], q.shape[-1])
    return np.sum(xlogy(q, q) - xlogy(q, p), axis=-1) / _log_base(base)


# -- argmin_theta H(p, q_theta) = argmin_theta KL(p || q_theta), q_theta = softmax(theta) --


def cross_entropy_gradient(p, logits):
    """d/d theta of H(p, softmax(theta)) = softmax(theta) sum(p) - p = q - p."""
    p = _check_distribution(p, "p", "cross_entropy_gradient")
    return np.exp(_log_softmax(logits)) * p.sum(axis=-1, keepdims=True) - p


def kl_divergence_gradient(p, logits):
    """d/d theta of KL(p || softmax(theta)) = d/d theta [sum p log p - sum p (theta - logsumexp theta)] = q - p."""
    p = _check_distribution(p, "p", "kl_divergence_gradient")
    q = np.exp(_log_softmax(logits))
    return -p + q * p.sum(axis=-1, keepdims=True)  # sum p log p has no theta: the same gradient as H(p, q)


# -- mode covering versus mode seeking --------------------------------------------------


def one_mode_grid(x):
    """The (mu, sigma) grid the one-mode family is searched on: mu every quarter step, 24 log-spaced sigmas."""
    x = np.asarray(x, dtype=np.float64)
    span = float(x.max() - x.min())
    step = span / (x.size - 1)
    mus = np.linspace(x.min(), x.max(), 4 * (x.size - 1) + 1)
    sigmas = np.geomspace(step / 4, span, 24)
    return mus, sigmas


def one_mode_family(x, mu, sigma):
    """q_{mu,sigma}(x_j) proportional to exp(-(x_j - mu)^2 / (2 sigma^2)): one mode, on the support x."""
    x = np.asarray(x, dtype=np.float64)
    mu, sigma = np.asarray(mu, dtype=np.float64)[..., None], np.asarray(sigma, dtype=np.float64)[..., None]
    logits = -((x - mu) ** 2) / (2 * sigma**2)
    return np.exp(_log_softmax(logits))


def fit_one_mode(p, x, direction="forward"):
    """Fit the one-mode family to p on support x by minimising forward KL(p || q) or reverse KL(q || p).

    A deterministic search over :func:`one_mode_grid` (first minimum on ties).
    Returns (mu, sigma, q, objective).
    """
    p = _check_distribution(p, "p", "fit_one_mode")
    if direction not in ("forward", "reverse"):
        raise ValueError(f"fit_one_mode: direction must be 'forward' or 'reverse', got {direction!r}")
    mus, sigmas = one_mode_grid(x)
    M, Sg = np.meshgrid(mus, sigmas, indexing="ij")
    Q = one_mode_family(x, M.ravel(), Sg.ravel())
    obj = kl_divergence(p, Q) if direction == "forward" else reverse_kl_divergence(p, Q)
    k = int(np.argmin(obj))
    return M.ravel()[k], Sg.ravel()[k], Q[k], obj[k]


# -- perplexity ---------------------------------------------------------------------------


def average_nll(q_true, base=None):
    """H_hat = -(1/T) sum_t log q(w_t | w_<t), from the probabilities q_true (..., T) of the observed tokens."""
    q = np.asarray(q_true, dtype=np.float64)
    check_token_axis("average_nll", "q_true", q.ndim)
    check_not_empty("average_nll", "q_true", q.shape[-1])
    if np.isnan(q).any() or (q < 0).any() or (q > 1).any():
        raise ValueError("average_nll: q_true must be probabilities in [0, 1] (no NaN)")
    with np.errstate(divide="ignore"):
        return -np.mean(np.log(q), axis=-1) / _log_base(base)


def perplexity(nll, base=None):
    """PPL = exp(mean NLL) for NLLs in nats; base ** (mean NLL) for NLLs in that base (2: bits)."""
    nll = np.asarray(nll, dtype=np.float64)
    check_token_axis("perplexity", "nll", nll.ndim)
    check_not_empty("perplexity", "nll", nll.shape[-1])
    if np.isnan(nll).any() or (nll < 0).any():
        raise ValueError("perplexity: nll must be non-negative negative log-likelihoods (no NaN)")
    return np.exp(np.mean(nll, axis=-1) * _log_base(base))


# -- mutual information ---------------------------------------------------------------------


def mutual_information(pxy, base=None):
    """I(X; Y) = D_KL(p(x, y) || p(x) p(y)); pxy has x along axis -2 and y along axis -1."""
    pxy = _check_distribution(pxy, "pxy", "mutual_information", axes=2)
    px, py = pxy.sum(axis=-1), pxy.sum(axis=-2)
    prod = px[..., :, None] * py[..., None, :]
    return np.sum(xlogy(pxy, pxy) - xlogy(pxy, prod), axis=(-2, -1)) / _log_base(base)


def conditional_entropy(pxy, base=None):
    """H(X | Y) = -sum_{x,y} p(x, y) log p(x | y) = H(X, Y) - H(Y)."""
    pxy = _check_distribution(pxy, "pxy", "conditional_entropy", axes=2)
    py = pxy.sum(axis=-2)
    return (-np.sum(xlogy(pxy, pxy), axis=(-2, -1)) + np.sum(xlogy(py, py), axis=-1)) / _log_base(base)


def mutual_information_from_entropies(pxy, base=None):
    """I(X; Y) = H(X) - H(X | Y)."""
    pxy = _check_distribution(pxy, "pxy", "mutual_information_from_entropies", axes=2)
    return entropy(pxy.sum(axis=-1), base) - conditional_entropy(pxy, base)


# -- Jensen-Shannon -------------------------------------------------------------------------


def jensen_shannon_divergence(p, q, base=None):
    """JSD(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2."""
    p = _check_distribution(p, "p", "jensen_shannon_divergence")
    q = _check_distribution(q, "q", "jensen_shannon_divergence")
    check_same_outcomes("jensen_shannon_divergence", p.shape[-1], q.shape[-1])
    m = (p + q) / 2
    return 0.5 * kl_divergence(p, m, base) + 0.5 * kl_divergence(q, m, base)


# -- label smoothing ------------------------------------------------------------------------


def _check_smoothing(target, num_classes, epsilon, convention, fn):
    t = np.asarray(target)
    if t.dtype.kind == "f":
        if not np.all(t == np.round(t)):
            raise ValueError(f"{fn}: target must be class indices (integers), got {target!r}")
        t = t.astype(np.int64)
    if t.dtype.kind not in "iu":
        raise ValueError(f"{fn}: target must be class indices (integers), got {target!r}")
    if not (isinstance(num_classes, (int, np.integer)) and num_classes >= 2):
        raise ValueError(f"{fn}: num_classes must be an integer >= 2, got {num_classes!r}")
    if (t < 0).any() or (t >= num_classes).any():
        raise ValueError(f"{fn}: target {target!r} out of range for num_classes={num_classes}")
    if not (0 <= epsilon <= 1):
        raise ValueError(f"{fn}: epsilon must be in [0, 1], got {epsilon!r}")
    if convention not in ("page", "torch"):
        raise ValueError(f"{fn}: convention must be 'page' (eps/(K-1) off-target) or 'torch' (eps/K), "
                         f"got {convention!r}")
    return t


def label_smoothing_targets(target, num_classes, epsilon, convention="page"):
    """Smoothed targets (..., K). 'page': 1 - eps on the target, eps/(K-1) elsewhere;
    'torch': (1 - eps) one-hot + eps/K (so 1 - eps + eps/K on the target)."""
    t = _check_smoothing(target, num_classes, epsilon, convention, "label_smoothing_targets")
    onehot = (t[..., None] == np.arange(num_classes)).astype(np.float64)
    if convention == "page":
        return onehot * (1 - epsilon) + (1 - onehot) * epsilon / (num_classes - 1)
    return onehot * (1 - epsilon) + epsilon / num_classes


# -- RLHF, Bradley-Terry, DPO ---------------------------------------------------------------


def rlhf_kl_penalty(policy_logits, reference_logits, beta):
    """-beta E_x[ D_KL(pi_theta(.|x) || pi_ref(.|x)) ], both softmax policies; E is the mean over the leading axes."""
    if not beta >= 0:
        raise ValueError(f"rlhf_kl_penalty: beta must be >= 0, got {beta!r}")
    log_pi, log_ref = _log_softmax(policy_logits), _log_softmax(reference_logits)
    kl = np.sum(np.exp(log_pi) * (log_pi - log_ref), axis=-1)
    return -beta * np.mean(kl)


def bradley_terry(r1, r2):
    """P(response 1 preferred to response 2) = sigma(r1 - r2)."""
    return expit(np.asarray(r1, dtype=np.float64) - np.asarray(r2, dtype=np.float64))


def dpo_loss(policy_chosen_logp, policy_rejected_logp, reference_chosen_logp, reference_rejected_logp, beta):
    """-log sigma(beta [(log pi(y_w|x) - log pi_ref(y_w|x)) - (log pi(y_l|x) - log pi_ref(y_l|x))]), per pair."""
    if not beta > 0:
        raise ValueError(f"dpo_loss: beta must be > 0, got {beta!r}")
    chosen = np.asarray(policy_chosen_logp, dtype=np.float64) - np.asarray(reference_chosen_logp, dtype=np.float64)
    rejected = np.asarray(policy_rejected_logp, dtype=np.float64) - np.asarray(reference_rejected_logp,
                                                                               dtype=np.float64)
    z = beta * (chosen - rejected)
    return np.logaddexp(0.0, -z)  # -log sigma(z) = log(1 + e^{-z}), without overflow
