"""PyTorch forms of the ngram topic's equations (batched over leading dimensions, float32/float64).

Same names and parameters as ``reference/numpy/ngram.py`` and ``specs/ngram.py``.
The sparse Kneser-Ney estimator lives only in the NumPy reference; its per-order
step, :func:`kneser_ney_interpolate`, is here, so a dense model can be built
and differentiated in torch.
"""

from __future__ import annotations

import math

import torch

from reference.torch._common import accepts_numpy

from reference.numpy.information import PROBABILITY_SUM_TOL
from reference.numpy._common import check_scalar
from reference.numpy.ngram import check_counts, check_counts_of_counts, check_discounts, check_log_probs


def _np(t: torch.Tensor):
    """A float64 NumPy copy for the shared checks (detached: the checks read values, never differentiate)."""
    return t.detach().to(torch.float64).cpu().numpy()


def _t(x, like: torch.Tensor | None = None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    dtype = like.dtype if like is not None else torch.get_default_dtype()
    return torch.as_tensor(x, dtype=dtype)


def _probabilities(p: torch.Tensor, name: str) -> torch.Tensor:
    if torch.isnan(p).any():
        raise ValueError(f"{name} contains NaN; expected probabilities in [0, 1]")
    if (p < 0).any() or (p > 1 + PROBABILITY_SUM_TOL).any():
        raise ValueError(f"{name} must hold probabilities in [0, 1], got values in [{p.min()}, {p.max()}]")
    return p


@accepts_numpy
def chain_rule_joint(conditionals):
    """P(w_1..w_T) = prod_t P(w_t | w_<t)."""
    return torch.prod(_probabilities(_t(conditionals), "conditionals"), dim=-1)


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(num))


@accepts_numpy
def sequence_conditionals(joint):
    """cond[t][w_1..w_T] = P(w_{t+1} | w_1..w_t) (0 where the prefix has probability 0)."""
    j = _probabilities(_t(joint), "joint")
    T = j.dim()
    out = []
    for t in range(T):
        num = j.sum(dim=tuple(range(t + 1, T)), keepdim=True) if t + 1 < T else j
        den = j.sum(dim=tuple(range(t, T)), keepdim=True)
        out.append(_safe_div(num, den).expand(j.shape))
    return torch.stack(out)


@accepts_numpy
def markov_conditionals(joint, order):
    """Factors P(w_t | the previous ``order`` words) of the joint table."""
    j = _probabilities(_t(joint), "joint")
    order = check_scalar("markov_conditionals", "order", order, low=0, integer=True)
    T = j.dim()
    out = []
    for t in range(T):
        lo = max(0, t - int(order))
        drop = tuple(i for i in range(T) if not lo <= i <= t)
        marg = j.sum(dim=drop, keepdim=True) if drop else j
        den = marg.sum(dim=t, keepdim=True)
        out.append(_safe_div(marg, den).expand(j.shape))
    return torch.stack(out)


@accepts_numpy
def unigram_mle(counts):
    """P(w) = count(w) / sum_w count(w)."""
    c = _t(counts)
    check_counts("unigram_mle", "counts", _np(c), positive_total=True)
    return c / c.sum(dim=-1, keepdim=True)


@accepts_numpy
def ngram_mle(counts, context_counts):
    """P(w | h) = count(h, w) / count(h) (0 where count(h) = 0)."""
    c = _t(counts)
    d = _t(context_counts, c).unsqueeze(-1)
    check_counts("ngram_mle", "counts", _np(c))
    check_counts("ngram_mle", "context_counts", _np(d))
    p = _safe_div(c, d.expand(c.shape))
    return torch.where(torch.isnan(c) | torch.isnan(d), torch.full_like(p, float("nan")), p)  # NaN in, NaN out


@accepts_numpy
def add_k(counts, context_counts, k, vocab_size):
    """P(w | h) = (count(h, w) + k) / (count(h) + k V)."""
    c = _t(counts)
    d = _t(context_counts, c).unsqueeze(-1)
    check_counts("add_k", "counts", _np(c))
    check_counts("add_k", "context_counts", _np(d))
    check_scalar("add_k", "k", k, low=0)  # k < 0 is no smoothing (it can give negative probabilities)
    check_scalar("add_k", "vocab_size", vocab_size, low=1, integer=True)
    if k == 0:  # the MLE, with its convention for an unseen context (0, not 0/0 = NaN)
        return ngram_mle(c, d[..., 0])
    return (c + k) / (d + k * vocab_size)


@accepts_numpy
def interpolate(probabilities, weights):
    """sum_i lambda_i P_i with the lambdas on the simplex."""
    p = _t(probabilities)
    w = _t(weights, p)
    if w.dim() != 1 or w.shape[0] != p.shape[0]:
        raise ValueError(f"weights must have one entry per order ({p.shape[0]}), got shape {tuple(w.shape)}")
    if (w < 0).any() or abs(float(w.to(torch.float64).sum()) - 1) > PROBABILITY_SUM_TOL:
        raise ValueError(f"weights must be on the simplex (non-negative, summing to 1), got {w.tolist()}")
    return torch.tensordot(w, p, dims=1)


@accepts_numpy
def backoff_literal(probabilities, counts):
    """The page's backoff rule literally: the highest order with a non-zero count, no renormalisation."""
    p = _t(probabilities)
    c = _t(counts, p)
    out = p[-1]
    for i in range(p.shape[0] - 2, -1, -1):
        out = torch.where(c[i] > 0, p[i], out)
        out = torch.where(torch.isnan(c[i]), torch.full_like(out, float("nan")), out)  # a NaN count: order unknown
    return out


@accepts_numpy
def sequence_perplexity(log_probs):
    """PPL = exp(-(1/T) sum_t log p_t) from natural-log probabilities (..., T) -> (...)."""
    lp = _t(log_probs)
    check_log_probs("sequence_perplexity", _np(lp))
    return torch.exp(-lp.mean(dim=-1))


@accepts_numpy
def cross_entropy_bits(log_probs):
    """-(1/T) sum_t log2 p_t from natural-log probabilities."""
    lp = _t(log_probs)
    check_log_probs("cross_entropy_bits", _np(lp))
    return -lp.mean(dim=-1) / math.log(2.0)


@accepts_numpy
def kneser_ney_discounts(counts_of_counts):
    """D1, D2, D3+ = k - (k+1) Y n_{k+1}/n_k with Y = n1/(n1 + 2 n2)."""
    n = _t(counts_of_counts)
    check_counts_of_counts("kneser_ney_discounts", _np(n))
    n1, n2, n3, n4 = n.unbind(-1)
    Y = n1 / (n1 + 2 * n2)
    return torch.stack([1 - 2 * Y * n2 / n1, 2 - 3 * Y * n3 / n2, 3 - 4 * Y * n4 / n3], dim=-1)


@accepts_numpy
def continuation_counts(counts):
    """N1+(. w_2..w_k): the number of distinct first words with a non-zero count (axis 0)."""
    c = _t(counts)
    n = (c > 0).sum(dim=0).to(c.dtype if c.is_floating_point() else torch.get_default_dtype())
    return torch.where(torch.isnan(c).any(dim=0), torch.full_like(n, float("nan")), n) if c.is_floating_point() else n


@accepts_numpy
def kneser_ney_interpolate(counts, lower, discounts):
    """p(w|h) = (a(hw) - D(a(hw)))/sum_x a(hx) + gamma(h) p(w|h'); unseen contexts back off entirely."""
    a = _t(counts)
    q = _t(lower, a)
    D = _t(discounts, a)
    check_discounts("kneser_ney_interpolate", _np(D))
    zero = torch.zeros_like(a)
    d = torch.where(a <= 0, zero, torch.where(a < 2, D[0], torch.where(a < 3, D[1], D[2])))
    total = a.sum(dim=-1, keepdim=True)
    safe = torch.where(total > 0, total, torch.ones_like(total))
    gamma = torch.where(total > 0, d.sum(dim=-1, keepdim=True) / safe, torch.ones_like(total))
    return (a - d) / safe + gamma * q
