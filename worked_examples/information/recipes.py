"""Recipes for the information-theory worked examples (information_theory.md).

A recipe takes the example's ``inputs`` (NumPy arrays / numbers) and a backend, computes
every quantity the page prints with that backend's functions (intermediate logarithms
exactly in SymPy, in float64/float32 elsewhere), and returns them by name. The suite
judges the page's claims against them.
"""

from __future__ import annotations

import numpy as np
import sympy as sp
import torch

from lmverify.backends import Backend

T = "information"


def _log(b: Backend, x, base=None):
    """log_base(x) (natural log for base None) computed the way backend ``b`` computes."""
    if b.exact:
        v = sp.log(b.scalar(float(x)))
        return v if base is None else v / sp.log(sp.Integer(base))
    if b.is_torch:
        t = b.array(np.asarray(float(x)))
        v = torch.log(t)
        return v if base is None else v / torch.log(torch.tensor(float(base), dtype=t.dtype))
    return np.log(float(x)) if base is None else np.log(float(x)) / np.log(float(base))


def _num(b: Backend, v) -> float:
    return float(b.to_numpy(v))


def coins(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Fair vs. Biased Coin": each term -p log2 p, and the totals."""
    out = {}
    for name in ("fair", "biased", "deterministic"):
        p = inputs[name]
        for side, pi in zip(("H", "T"), p):
            if pi > 0:
                log2 = _num(b, _log(b, pi, 2))
                out[f"{name}_log2_{side}"] = log2
                out[f"{name}_term_{side}"] = _num(b, -b.scalar(float(pi)) * _log(b, pi, 2))
        out[f"{name}_entropy_bits"] = b.call(T, "entropy", p, base=2.0)
    return out


def token_prediction(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Token Prediction with Three Words": H(one-hot, q) = -ln q(true token)."""
    q = inputs["q"]
    vocab = list(inputs["vocabulary"])
    out = {}
    for word in ("cat", "fish"):
        p = np.eye(len(vocab))[vocab.index(word)]
        out[f"cross_entropy_{word}"] = b.call(T, "cross_entropy", p, q)
    return out


def kl_two_distributions(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: KL with Two Distributions, Term by Term", and its sanity check."""
    p, q = inputs["p"], inputs["q"]
    ln_p = [_num(b, _log(b, x)) for x in p]
    ln_q = [_num(b, _log(b, x)) for x in q]
    log_ratio = [_num(b, _log(b, p[i]) - _log(b, q[i])) for i in range(2)]
    terms = [_num(b, b.scalar(float(p[i])) * (_log(b, p[i]) - _log(b, q[i]))) for i in range(2)]
    return {
        "ln_p0": ln_p[0],
        "neg_ln_q0": -ln_q[0],
        "neg_ln_q1": -ln_q[1],
        "log_ratio_0": log_ratio[0],
        "log_ratio_1": log_ratio[1],
        "term_0": terms[0],
        "term_1": terms[1],
        "kl": b.call(T, "kl_divergence", p, q),
        "entropy_p": b.call(T, "entropy", p),
        "cross_entropy_pq": b.call(T, "cross_entropy", p, q),
        "cross_entropy_minus_entropy": b.call(T, "cross_entropy", p, q) - b.call(T, "entropy", p),
    }


def perplexity_examples(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Real Numbers": PPL = exp(average NLL)."""
    return {f"ppl_at_{str(v).replace('.', '_')}": b.call(T, "perplexity", np.array([float(v)]))
            for v in inputs["average_nll"]}


def bits_and_nats(inputs: dict, b: Backend) -> dict:
    """Sections "Worked Example: Fair Coin in Both Units" and the notation box's 1 nat = 1/ln 2 bits."""
    p = inputs["p"]
    bits, nats = b.call(T, "entropy", p, base=2.0), b.call(T, "entropy", p)
    return {"entropy_bits": bits, "entropy_nats": nats, "bits_per_nat": bits / nats}


def three_tokens(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Three Tokens": mean NLL and PPL = exp(mean)."""
    nll = inputs["nll"]
    total = b.to_numpy(sum(b.scalar(float(v)) for v in nll))
    return {"sum_nll": total, "mean_nll": total / len(nll), "ppl": b.call(T, "perplexity", nll)}


def label_smoothing(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Tiny Smoothing Effect": the smoothed target in both conventions, and the
    cross-entropy of a model that puts 0 on a non-target class, against hard and smoothed targets."""
    K, eps, y = int(inputs["K"]), float(inputs["epsilon"]), int(inputs["target"])
    q = inputs["model_with_zero_on_a_non_target_class"]
    page = b.call(T, "label_smoothing_targets", y, K, eps, convention="page")
    torch_ = b.call(T, "label_smoothing_targets", y, K, eps, convention="torch")
    hard = b.call(T, "label_smoothing_targets", y, K, 0.0, convention="page")
    ce_page, ce_torch = b.call(T, "cross_entropy", page, q), b.call(T, "cross_entropy", torch_, q)
    return {
        "targets_page": page,
        "targets_torch": torch_,
        "hard_targets": hard,
        "cross_entropy_hard": b.call(T, "cross_entropy", hard, q),
        # 1.0 when finite; the values themselves are inf (golden files store only finite numbers)
        "cross_entropy_smoothed_is_finite": float(np.isfinite(ce_page) and np.isfinite(ce_torch)),
    }
