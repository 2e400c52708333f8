"""Recipes for the attention worked examples (attention_math.md).

A recipe takes the example's ``inputs`` (NumPy arrays / numbers) and a backend,
computes every quantity the page prints with that backend's functions, and
returns them by name. The suite judges the page's claims against them.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp

from lmverify.backends import Backend
from lmverify.worked import NotForBackend

T = "attention"


def four_token_example(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Four Tokens, d_k = 4" and the mask walkthrough that reuses its Z."""
    Q = inputs["Q_scale"] * np.eye(4)
    K, V = inputs["K"], inputs["V"]
    d_k = Q.shape[1]
    S = b.call(T, "dot_product_scores", Q, K)
    # the page divides by sqrt(d_k) = 2; on the SymPy backend exactly
    Z = b.to_numpy(b.array(S) / sp.sqrt(d_k)) if b.exact else S / math.sqrt(d_k)
    out, W = b.call(T, "scaled_dot_product_attention", Q, K, V)
    row0 = Z[0]
    numerators = b.to_numpy(b.array(row0).applyfunc(sp.exp)) if b.exact else np.exp(row0)
    causal_out, causal_W = b.call(T, "scaled_dot_product_attention", Q, K, V, b.to_numpy(b.call(T, "causal_mask", 4)).astype(bool))
    masked_Z = b.call(T, "causal_masked_scores", Z)
    upper = np.triu(np.ones((4, 4), dtype=bool), k=1)
    return {
        "Q": Q,
        "K_T": K.T,
        "S": S,
        "cell_0_2": S[0, 2],
        "col2_of_K_T": K.T[:, 2],
        "Z": Z,
        "numerators_row0": numerators,
        "sum_row0": numerators.sum(),
        "weights": W,
        "weights_row0_sum": W[0].sum(),
        "output": out,
        "causal_weights": causal_W,
        "causal_max_masked_weight": causal_W[upper].max(),
        "masked_Z_row0_finite_count": np.isfinite(masked_Z[0]).sum(),
    }


def variance_demo(inputs: dict, b: Backend) -> dict:
    """Section "Numerical Demo: d_k = 512": the variance argument, checked by theory and by a seeded Monte Carlo."""
    if b.exact:
        raise NotForBackend("a Monte Carlo demo with 512-dimensional vectors is not run in exact arithmetic")
    d_k, n, seed = int(inputs["d_k"]), int(inputs["samples"]), int(inputs["seed"])
    mean, var = b.call(T, "dot_product_moments", np.zeros(d_k), np.ones(d_k), np.zeros(d_k), np.ones(d_k))
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n, 1, d_k))
    k = rng.standard_normal((n, 1, d_k))
    dots = b.call(T, "dot_product_scores", q, k)[:, 0, 0]
    std = dots.std(ddof=1)
    # standard error of a sample standard deviation: Var(s^2) ~ (mu4 - sigma^4)/n, delta method for s
    mu4 = 3 * d_k**2 + 6 * d_k  # fourth moment of q.k for N(0, 1) components
    se_std = math.sqrt((mu4 - var**2) / n) / (2 * math.sqrt(var))
    logits = np.array([[float(inputs["large_logit"])] + [0.0] * (int(inputs["n_logits"]) - 1)])
    p = b.call(T, "softmax", logits)[0]
    return {
        "sqrt_d_k": math.sqrt(var),
        "theoretical_mean": mean,
        "unscaled_std_sample": std,
        "unscaled_std_se": se_std,
        "scaled_std": math.sqrt(var / d_k),
        "scaled_std_sample": std / math.sqrt(d_k),
        "scaled_std_se": se_std / math.sqrt(d_k),
        "top_weight_unscaled": p.max(),
        # d p_top / d z_j = -p_top p_j: the gradient reaching a non-argmax logit
        "max_gradient_to_other_positions": float(np.max(p[0] * p[1:])),
    }


def macs_example(inputs: dict, b: Backend) -> dict:
    """Section "Plug in Numbers: T=2048, d_k=64" (the torch backends count the MACs of real matmuls)."""
    T_len, d_k = int(inputs["T"]), int(inputs["d_k"])
    qk, av = b.call(T, "attention_macs", T_len, d_k, d_k)
    return {"T_squared": T_len * T_len, "macs_qk": qk, "macs_av": av}
