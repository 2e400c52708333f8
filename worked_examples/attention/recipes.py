"""Recipes for the attention worked examples (attention_math.md).

A recipe takes the example's ``inputs`` (NumPy arrays / numbers) and a backend,
computes every quantity the page prints with that backend's functions, and
returns them by name. The suite judges the page's claims against them.
"""

from __future__ import annotations

import math

import numpy as np

from lmverify.backends import Backend
from lmverify.worked import NotForBackend

T = "attention"


def four_token_example(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Four Tokens, d_k = 4" and the mask walkthrough that reuses its Z.

    Written once for every backend: ``b.run`` returns native values (exact SymPy matrices on the
    SymPy backend) and ``b.sqrt`` / ``b.exp`` act on them, so no step rounds through float64.
    """
    Q = b.const(inputs["Q_scale"] * np.eye(4))
    K, V = inputs["K"], inputs["V"]
    S = b.run(T, "dot_product_scores", Q, K)
    Z = S / b.sqrt(b.const(Q.shape[1]))  # the page divides by sqrt(d_k) = 2
    out, W = b.run(T, "scaled_dot_product_attention", Q, K, V)
    numerators = b.exp(b.row(Z, 0))
    mask = np.asarray(b.to_numpy(b.run(T, "causal_mask", 4)), dtype=bool)
    _, causal_W = b.run(T, "scaled_dot_product_attention", Q, K, V, mask)
    masked_Z = b.run(T, "causal_masked_scores", Z)
    upper = np.triu(np.ones((4, 4), dtype=bool), k=1)
    W_np = np.asarray(b.to_numpy(W), dtype=np.float64)
    return {
        "Q": Q,
        "K_T": K.T,
        "sqrt_d_k": b.sqrt(b.const(Q.shape[1])),  # the 2 of S / 2
        "S": S,
        "cell_0_2": S[0, 2],
        "col2_of_K_T": K.T[:, 2],
        "Z": Z,
        "numerators_row0": numerators,
        "sum_row0": sum(numerators),
        # the same sum on the page's own printed intermediates (each numerator rounded as printed)
        "sum_row0_of_printed_numerators": float(np.round(b.to_numpy(numerators), int(inputs.get("printed_places", 3))).sum()),
        "weights": W,
        "weights_row0_sum": sum(b.row(W, 0)),
        # the positions that tie for the highest weight in row 0
        "top_positions_row0": np.flatnonzero(np.isclose(W_np[0], W_np[0].max(), rtol=1e-12, atol=0.0)).astype(np.float64),
        "Z_shape": np.asarray(np.shape(b.to_numpy(Z)), dtype=np.float64),
        "output": out,
        "causal_weights": causal_W,
        "causal_max_masked_weight": b.to_numpy(causal_W)[upper].max(),  # exact zeros stay zero
        "masked_Z_row0_finite_count": np.isfinite(b.to_numpy(masked_Z)[0]).sum(),
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
    logits = np.array([[float(inputs["large_logit"])] + [float(inputs["other_logit"])] * (int(inputs["n_logits"]) - 1)])
    p = b.call(T, "softmax", logits)[0]
    return {
        "sqrt_d_k": math.sqrt(var),
        "theoretical_mean": mean,
        "unscaled_std_sample": std,
        "unscaled_std_se": se_std,
        "scaled_variance": var / d_k,
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
    # the page prints T^2 d_k as a mantissa times 10 to an exponent (2.68 x 10^8)
    exponent = math.floor(math.log10(float(qk)))
    return {"T_squared": T_len * T_len, "macs_qk": qk, "macs_av": av,
            "macs_qk_mantissa": float(qk) / 10.0**exponent, "macs_qk_exponent": exponent}
