"""Information theory, PyTorch implementation (course page: information_theory.md).

Same functions and signatures as reference/numpy/information.py; batched over leading
dimensions (distribution along the last one, a joint along the last two), float32 or
float64 (whatever the inputs are), differentiable. The same conventions: ``base=None``
nats, ``base=2`` bits; 0 log 0 = 0 through ``torch.xlogy``; cross-entropy and KL are
``inf`` (never NaN) where q = 0 but p > 0; bad input raises ValueError naming the argument,
with the one threshold PROBABILITY_SUM_TOL of reference/numpy/information.py.
"""

from __future__ import annotations

import math

import torch

from reference.torch._common import accepts_numpy
import torch.nn.functional as F

from reference.numpy.information import PROBABILITY_SUM_TOL, check_not_empty, check_same_outcomes, check_token_axis

# -- validation and helpers -----------------------------------------------------------


def _tensor(x, like=None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    dtype = like.dtype if isinstance(like, torch.Tensor) and like.is_floating_point() else torch.float64
    return torch.as_tensor(x, dtype=dtype)


def _check_distribution(p, name: str, fn: str, axes: int = 1) -> torch.Tensor:
    p = _tensor(p)
    if not p.is_floating_point():
        p = p.to(torch.float64)
    if p.dim() < axes:
        raise ValueError(f"{fn}: {name} must have at least {axes} dimension(s) (the distribution axis is last), "
                         f"got shape {tuple(p.shape)}")
    with torch.no_grad():
        if torch.isnan(p).any():
            raise ValueError(f"{fn}: {name} contains NaN where a probability is expected")
        if torch.isinf(p).any():
            raise ValueError(f"{fn}: {name} contains an infinite value where a probability is expected")
        if (p < 0).any():
            raise ValueError(f"{fn}: {name} has negative mass (smallest entry {p.min().item()!r})")
        sums = p.to(torch.float64).sum(dim=tuple(range(-axes, 0)))
        bad = (sums - 1.0).abs() > PROBABILITY_SUM_TOL
        if bad.any():
            raise ValueError(f"{fn}: {name} must sum to one over its last {'axis' if axes == 1 else f'{axes} axes'} "
                             f"(within {PROBABILITY_SUM_TOL:g}); sums are {sums.reshape(-1)[bad.reshape(-1)][:3].tolist()}")
    return p


def _log_base(base) -> float:
    if base is None:
        return 1.0
    if not (math.isfinite(base) and base > 0 and base != 1):
        raise ValueError(f"base must be a positive number other than 1 (or None for nats), got {base!r}")
    return math.log(base)


def _logits(z) -> torch.Tensor:
    z = _tensor(z)
    if torch.isnan(z).any():
        raise ValueError("logits contain NaN")
    return z


# -- entropy, cross-entropy, KL ---------------------------------------------------------


@accepts_numpy
def entropy(p, base=None):
    """H(X) = -sum_x p(x) log p(x), with 0 log 0 = 0."""
    p = _check_distribution(p, "p", "entropy")
    return -torch.xlogy(p, p).sum(dim=-1) / _log_base(base)


@accepts_numpy
def cross_entropy(p, q, base=None):
    """H(p, q) = -sum_x p(x) log q(x); inf where q = 0 but p > 0."""
    p = _check_distribution(p, "p", "cross_entropy")
    q = _check_distribution(q, "q", "cross_entropy")
    check_same_outcomes("cross_entropy", p.shape[-1], q.shape[-1])
    return -torch.xlogy(p, q).sum(dim=-1) / _log_base(base)


@accepts_numpy
def kl_divergence(p, q, base=None):
    """Forward KL: D_KL(p || q) = sum_x p(x) log(p(x) / q(x)); inf where q = 0 but p > 0."""
    p = _check_distribution(p, "p", "kl_divergence")
    q = _check_distribution(q, "q", "kl_divergence")
    check_same_outcomes("kl_divergence", p.shape[-1], q.shape[-1])
    return (torch.xlogy(p, p) - torch.xlogy(p, q)).sum(dim=-1) / _log_base(base)


@accepts_numpy
def reverse_kl_divergence(p, q, base=None):
    """Reverse KL: D_KL(q || p)."""
    p = _check_distribution(p, "p", "reverse_kl_divergence")
    q = _check_distribution(q, "q", "reverse_kl_divergence")
    check_same_outcomes("reverse_kl_divergence", p.shape[-1], q.shape[-1])
    return (torch.xlogy(q, q) - torch.xlogy(q, p)).sum(dim=-1) / _log_base(base)


# -- argmin_theta H(p, q_theta) = argmin_theta KL(p || q_theta): gradients by autograd ----------


def _gradient(objective, p, logits):
    """Autograd of the objective written with log q = log_softmax(theta): through softmax itself, a q that
    underflows to 0 (logits of +-1e4) gives log 0 = -inf and a NaN gradient; log_softmax stays finite."""
    p = _check_distribution(p, "p", objective.__name__ + "_gradient")
    theta = _logits(logits).detach().clone().requires_grad_(True)
    with torch.enable_grad():
        log_q = torch.log_softmax(theta, dim=-1)
        value = -(p * log_q).sum()  # H(p, q_theta)
        if objective is kl_divergence:
            value = value + torch.xlogy(p, p).sum()  # KL = H(p, q) - H(p); H(p) has no theta
        (grad,) = torch.autograd.grad(value, theta)
    return grad


@accepts_numpy
def cross_entropy_gradient(p, logits):
    """d/d theta of H(p, softmax(theta)), by autograd through :func:`cross_entropy`."""
    return _gradient(cross_entropy, p, logits)


@accepts_numpy
def kl_divergence_gradient(p, logits):
    """d/d theta of KL(p || softmax(theta)), by autograd through :func:`kl_divergence`."""
    return _gradient(kl_divergence, p, logits)


# -- mode covering versus mode seeking --------------------------------------------------


@accepts_numpy
def fit_one_mode(p, x, direction="forward"):
    """Fit q_{mu,sigma}(x_j) ~ exp(-(x_j - mu)^2 / (2 sigma^2)) to p by forward KL(p || q) or reverse
    KL(q || p): the same deterministic grid search as the NumPy reference (mu every quarter step,
    24 log-spaced sigmas), vectorised. Returns (mu, sigma, q, objective)."""
    p = _check_distribution(p, "p", "fit_one_mode")
    if direction not in ("forward", "reverse"):
        raise ValueError(f"fit_one_mode: direction must be 'forward' or 'reverse', got {direction!r}")
    x = _tensor(x, like=p).to(p.dtype)
    lo, hi, n = float(x.min()), float(x.max()), x.numel()
    span = hi - lo
    step = span / (n - 1)
    mus = torch.linspace(lo, hi, 4 * (n - 1) + 1, dtype=torch.float64)
    sigmas = torch.logspace(math.log10(step / 4), math.log10(span), 24, dtype=torch.float64)
    M, Sg = torch.meshgrid(mus, sigmas, indexing="ij")
    M, Sg = M.reshape(-1).to(p.dtype), Sg.reshape(-1).to(p.dtype)
    Q = torch.softmax(-((x - M[:, None]) ** 2) / (2 * Sg[:, None] ** 2), dim=-1)
    obj = kl_divergence(p, Q) if direction == "forward" else reverse_kl_divergence(p, Q)
    k = int(torch.argmin(obj))
    return M[k], Sg[k], Q[k], obj[k]


# -- perplexity ---------------------------------------------------------------------------


@accepts_numpy
def average_nll(q_true, base=None):
    """H_hat = -(1/T) sum_t log q(w_t | w_<t)."""
    q = _tensor(q_true)
    check_token_axis("average_nll", "q_true", q.ndim)
    check_not_empty("average_nll", "q_true", q.shape[-1])
    if torch.isnan(q).any() or (q < 0).any() or (q > 1).any():
        raise ValueError("average_nll: q_true must be probabilities in [0, 1] (no NaN)")
    return -torch.log(q).mean(dim=-1) / _log_base(base)


@accepts_numpy
def perplexity(nll, base=None):
    """PPL = exp(mean NLL) (nats); base ** mean NLL for NLLs in that base."""
    nll = _tensor(nll)
    check_token_axis("perplexity", "nll", nll.ndim)
    check_not_empty("perplexity", "nll", nll.shape[-1])
    if torch.isnan(nll).any() or (nll < 0).any():
        raise ValueError("perplexity: nll must be non-negative negative log-likelihoods (no NaN)")
    return torch.exp(nll.mean(dim=-1) * _log_base(base))


# -- mutual information ---------------------------------------------------------------------


@accepts_numpy
def mutual_information(pxy, base=None):
    """I(X; Y) = D_KL(p(x, y) || p(x) p(y))."""
    pxy = _check_distribution(pxy, "pxy", "mutual_information", axes=2)
    px, py = pxy.sum(dim=-1), pxy.sum(dim=-2)
    prod = px[..., :, None] * py[..., None, :]
    return (torch.xlogy(pxy, pxy) - torch.xlogy(pxy, prod)).sum(dim=(-2, -1)) / _log_base(base)


@accepts_numpy
def conditional_entropy(pxy, base=None):
    """H(X | Y) = H(X, Y) - H(Y)."""
    pxy = _check_distribution(pxy, "pxy", "conditional_entropy", axes=2)
    py = pxy.sum(dim=-2)
    return (-torch.xlogy(pxy, pxy).sum(dim=(-2, -1)) + torch.xlogy(py, py).sum(dim=-1)) / _log_base(base)


@accepts_numpy
def mutual_information_from_entropies(pxy, base=None):
    """I(X; Y) = H(X) - H(X | Y)."""
    pxy = _check_distribution(pxy, "pxy", "mutual_information_from_entropies", axes=2)
    return entropy(pxy.sum(dim=-1), base) - conditional_entropy(pxy, base)


# -- Jensen-Shannon -------------------------------------------------------------------------


@accepts_numpy
def jensen_shannon_divergence(p, q, base=None):
    """JSD(p, q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2."""
    p = _check_distribution(p, "p", "jensen_shannon_divergence")
    q = _check_distribution(q, "q", "jensen_shannon_divergence")
    check_same_outcomes("jensen_shannon_divergence", p.shape[-1], q.shape[-1])
    m = (p + q) / 2
    return 0.5 * kl_divergence(p, m, base) + 0.5 * kl_divergence(q, m, base)


# -- label smoothing ------------------------------------------------------------------------


@accepts_numpy
def label_smoothing_targets(target, num_classes, epsilon, convention="page"):
    """'page': 1 - eps on the target, eps/(K-1) elsewhere; 'torch': (1 - eps) one-hot + eps/K."""
    fn = "label_smoothing_targets"
    t = torch.as_tensor(target)
    if t.is_floating_point():
        if not torch.equal(t, t.round()):
            raise ValueError(f"{fn}: target must be class indices (integers), got {target!r}")
        t = t.long()
    if not (isinstance(num_classes, int) and num_classes >= 2):
        raise ValueError(f"{fn}: num_classes must be an integer >= 2, got {num_classes!r}")
    if (t < 0).any() or (t >= num_classes).any():
        raise ValueError(f"{fn}: target {target!r} out of range for num_classes={num_classes}")
    if not (0 <= float(epsilon) <= 1):
        raise ValueError(f"{fn}: epsilon must be in [0, 1], got {epsilon!r}")
    if convention not in ("page", "torch"):
        raise ValueError(f"{fn}: convention must be 'page' (eps/(K-1) off-target) or 'torch' (eps/K), "
                         f"got {convention!r}")
    dtype = epsilon.dtype if isinstance(epsilon, torch.Tensor) else torch.float64
    onehot = F.one_hot(t.long(), num_classes).to(dtype)
    if convention == "page":
        return onehot * (1 - epsilon) + (1 - onehot) * epsilon / (num_classes - 1)
    return onehot * (1 - epsilon) + epsilon / num_classes


# -- RLHF, Bradley-Terry, DPO ---------------------------------------------------------------


@accepts_numpy
def rlhf_kl_penalty(policy_logits, reference_logits, beta):
    """-beta E_x[ D_KL(pi_theta(.|x) || pi_ref(.|x)) ]; E is the mean over the leading dimensions."""
    if not beta >= 0:
        raise ValueError(f"rlhf_kl_penalty: beta must be >= 0, got {beta!r}")
    log_pi = torch.log_softmax(_logits(policy_logits), dim=-1)
    log_ref = torch.log_softmax(_logits(reference_logits), dim=-1)
    kl = (log_pi.exp() * (log_pi - log_ref)).sum(dim=-1)
    return -beta * kl.mean()


@accepts_numpy
def bradley_terry(r1, r2):
    """P(response 1 preferred to response 2) = sigma(r1 - r2)."""
    r1 = _tensor(r1, like=r2)
    return torch.sigmoid(r1 - _tensor(r2, like=r1))


@accepts_numpy
def dpo_loss(policy_chosen_logp, policy_rejected_logp, reference_chosen_logp, reference_rejected_logp, beta):
    """-log sigma(beta [(log pi(y_w|x) - log pi_ref(y_w|x)) - (log pi(y_l|x) - log pi_ref(y_l|x))]), per pair."""
    if not beta > 0:
        raise ValueError(f"dpo_loss: beta must be > 0, got {beta!r}")
    pc = _tensor(policy_chosen_logp)
    chosen = pc - _tensor(reference_chosen_logp, like=pc)
    rejected = _tensor(policy_rejected_logp, like=pc) - _tensor(reference_rejected_logp, like=pc)
    return -F.logsigmoid(beta * (chosen - rejected))
