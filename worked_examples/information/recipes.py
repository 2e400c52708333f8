"""Recipes for the information-theory worked examples (information_theory.md).

A recipe takes the example's ``inputs`` (NumPy arrays / numbers) and a backend, computes every
quantity the page prints with that backend's functions, and returns them by name. Written once
for every backend: ``b.run`` returns the backend's native values and ``b.const`` / ``b.log`` work
on them, so on SymPy every quantity is exact end to end (no float64 between steps), and in
float32 every step is float32. The suite judges the page's claims against them.
"""

from __future__ import annotations

import numpy as np

from lmverify.backends import Backend

T = "information"


def _log2(b: Backend, x):
    """log2(x) on the backend's native values."""
    return b.log(b.const(x)) / b.log(b.const(2))


def coins(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Fair vs. Biased Coin": each term -p log2 p (its factor -p, its log2 p), the
    totals, and the 1 bit (two equally likely outcomes) that the biased coin's entropy stays below.
    The deterministic coin's page prints only P(H); P(T) = 1 - P(H)."""
    heads = float(inputs["deterministic_heads"])
    coins_ = {"fair": inputs["fair"], "biased": inputs["biased"],
              "deterministic": np.array([heads, 1.0 - heads])}
    out = {}
    for name, p in coins_.items():
        for side, pi in zip(("H", "T"), p):
            if pi > 0:
                out[f"{name}_neg_p_{side}"] = -b.const(pi)
                out[f"{name}_log2_{side}"] = _log2(b, pi)
                out[f"{name}_term_{side}"] = -b.const(pi) * _log2(b, pi)
        out[f"{name}_entropy_bits"] = b.run(T, "entropy", p=p, base=2.0)
    n = len(inputs["fair"])
    out["max_entropy_bits"] = b.run(T, "entropy", p=np.full(n, 1.0 / n), base=2.0)  # uniform: log2(2) = 1
    return out


def token_prediction(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Token Prediction with Three Words": the one-hot target of the true token cat,
    and H(one-hot, q) = -ln q(true token) for the true tokens cat and fish."""
    q = inputs["q"]
    vocab = list(inputs["vocabulary"])
    out = {f"cross_entropy_{word}": b.run(T, "cross_entropy", p=np.eye(len(vocab))[vocab.index(word)], q=q)
           for word in ("cat", "fish")}
    # the one-hot p: label smoothing with epsilon = 0
    out["one_hot_cat"] = b.run(T, "label_smoothing_targets", target=vocab.index("cat"), num_classes=len(vocab),
                               epsilon=0.0, convention="page")
    return out


def kl_two_distributions(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: KL with Two Distributions, Term by Term", and its sanity check."""
    p, q = inputs["p"], inputs["q"]
    ln_p = [b.log(b.const(x)) for x in p]
    ln_q = [b.log(b.const(x)) for x in q]
    log_ratio = [ln_p[i] - ln_q[i] for i in range(2)]
    ce, h = b.run(T, "cross_entropy", p=p, q=q), b.run(T, "entropy", p=p)
    return {
        "ln_p0": ln_p[0],
        "ln_p1": ln_p[1],
        "neg_ln_q0": -ln_q[0],
        "neg_ln_q1": -ln_q[1],
        "log_ratio_0": log_ratio[0],
        "log_ratio_1": log_ratio[1],
        "neg_p0": -b.const(p[0]),  # the factor of -0.5 ln 0.6 in the sanity check
        "term_0": b.const(p[0]) * log_ratio[0],
        "term_1": b.const(p[1]) * log_ratio[1],
        "kl": b.run(T, "kl_divergence", p=p, q=q),
        "entropy_p": h,
        "cross_entropy_pq": ce,
        "cross_entropy_minus_entropy": ce - h,
        # the page's own arithmetic: the two values rounded to the 3 places it prints, then subtracted
        "cross_entropy_minus_entropy_of_printed": round(float(b.to_numpy(ce)), 3) - round(float(b.to_numpy(h)), 3),
    }


def perplexity_examples(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Real Numbers": PPL = exp(average NLL), at the first NLL and at the improved one."""
    first, improved = (b.run(T, "perplexity", nll=np.array([float(v)])) for v in inputs["average_nll"])
    return {"ppl_first": first, "ppl_improved": improved}


def bits_and_nats(inputs: dict, b: Backend) -> dict:
    """Sections "Worked Example: Fair Coin in Both Units" and the notation box's 1 nat = 1/ln 2 bits."""
    p = inputs["p"]
    bits, nats = b.run(T, "entropy", p=p, base=2.0), b.run(T, "entropy", p=p)
    # H in nats = ln 2: the 2 is e^H, the number of equally likely outcomes of the fair coin
    return {"entropy_bits": bits, "entropy_nats": nats, "bits_per_nat": bits / nats,
            "equally_likely_outcomes": b.exp(nats)}


def three_tokens(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Three Tokens": mean NLL and PPL = exp(mean)."""
    nll = inputs["nll"]
    total = sum(b.const(v) for v in nll)
    count = b.const(len(nll))
    return {"sum_nll": total, "n_tokens": count, "mean_nll": total / count, "ppl": b.run(T, "perplexity", nll=nll)}


def label_smoothing(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Tiny Smoothing Effect": the smoothed target in both conventions, and the
    cross-entropy of a model that puts 0 on a non-target class, against hard and smoothed targets."""
    K, eps, y = int(inputs["K"]), float(inputs["epsilon"]), int(inputs["target"])
    q = inputs["model_with_zero_on_a_non_target_class"]
    page = b.run(T, "label_smoothing_targets", target=y, num_classes=K, epsilon=eps, convention="page")
    torch_ = b.run(T, "label_smoothing_targets", target=y, num_classes=K, epsilon=eps, convention="torch")
    hard = b.run(T, "label_smoothing_targets", target=y, num_classes=K, epsilon=0.0, convention="page")
    ce_page, ce_torch = b.run(T, "cross_entropy", p=page, q=q), b.run(T, "cross_entropy", p=torch_, q=q)
    finite = bool(np.isfinite(b.to_numpy(ce_page)) and np.isfinite(b.to_numpy(ce_torch)))
    return {
        "targets_page": page,
        "targets_torch": torch_,
        "hard_targets": hard,
        "cross_entropy_hard": b.run(T, "cross_entropy", p=hard, q=q),
        # 1.0 when finite; the values themselves are inf (golden files store only finite numbers)
        "cross_entropy_smoothed_is_finite": float(finite),
    }
