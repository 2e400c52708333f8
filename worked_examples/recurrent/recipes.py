"""Recipes for the recurrent worked examples (neural_language_models.md).

Each recipe takes the example's ``inputs`` and a backend and recomputes every quantity the page
prints with that backend's functions (``b.run`` keeps native values, so SymPy is exact end to end
and float32 stays float32). The suite judges the page's claims against them.
"""

from __future__ import annotations

import numpy as np

from lmverify.backends import Backend

T = "recurrent"


def feedforward_two_word(inputs: dict, b: Backend) -> dict:
    """"Worked Example: Two-Word Context Window": softmax of the given logits U h, and the winning index."""
    logits = np.asarray(inputs["logits"], dtype=np.float64)
    es = np.asarray(inputs["embeddings"], dtype=np.float64)
    context, d_e = es.shape
    # W acts on the concatenation [e_1; e_2]: feedforward_lm accepts exactly this width (and refuses others)
    d_h = int(inputs["d_h"])  # a number read from the page comes as a float
    W = np.zeros((d_h, context * d_e))
    b.run(T, "feedforward_lm", es=es, W=W, b=np.zeros(d_h), U=np.zeros((len(logits), d_h)),
          d=logits)
    # the page's P = softmax(U h + d) with U h given: the last step of feedforward_lm
    probs = b.run("attention", "softmax", z=logits)
    p = np.asarray(b.to_numpy(probs), dtype=np.float64)
    # h = tanh(W [e_1; e_2] + b) has one coordinate per row of W; each e_i has the embeddings' width
    return {"context_size": int(inputs["n"]) - 1, "W_columns": W.shape[1], "hidden_dim": W.shape[0],
            "embedding_dim": d_e, "probs": probs,
            "argmax_1based": int(np.argmax(p)) + 1, "argmax_0based": int(np.argmax(p)),
            "sum": sum(probs[i] for i in range(len(logits)))}


def repeated_multiplication(inputs: dict, b: Backend) -> dict:
    """"Why RNNs Failed" and "Worked Example: Repeated Multiplication by 0.9": factor^steps_long, factor^steps
    through its log, and the magnitude a gradient that starts at ``start_magnitude`` ends with."""
    f = inputs["factor"]
    log_f = b.log(b.const(f))
    n = int(inputs["steps_long"]), int(inputs["steps"])
    log_prod = b.const(n[1]) * log_f
    scale = b.run(T, "gradient_scale_after", factor=f, steps=n[1])
    return {
        "scale_long": b.run(T, "gradient_scale_after", factor=f, steps=n[0]),
        "log_factor": log_f,
        "log_scale": log_prod,
        "exp_of_printed_log": b.exp(b.const(inputs["printed_log_scale"])),
        "scale": scale,
        "exp_of_log_scale": b.exp(log_prod),
        "end_magnitude": b.const(inputs["start_magnitude"]) * scale,
    }


def lstm_cat_step(inputs: dict, b: Backend) -> dict:
    """"Worked Example: Token `cat` Through One LSTM Step": every gate, product, the cell, tanh of it, h."""
    # zero weights: each gate's pre-activation is its bias, set to the page's z_f, z_i, z_c, z_o
    params = {f"W_{g}": np.zeros((1, 2)) for g in "fico"}
    params.update({f"b_{g}": np.array([inputs[f"z_{g}"]]) for g in "fico"})
    g = b.run(T, "lstm_gates", x=np.array([inputs["x"]]), h_prev=np.array([inputs["h_prev"]]),
              c_prev=np.array([inputs["c_prev"]]), **params)
    c_prev = b.const(np.array([inputs["c_prev"]]))
    f_c = b.run(T, "lstm_cell_update", f=g["f"], c_prev=c_prev, i=g["f"] * 0, c_tilde=g["c_tilde"])
    i_ct = b.run(T, "lstm_cell_update", f=g["f"] * 0, c_prev=c_prev, i=g["i"], c_tilde=g["c_tilde"])
    out = {k: g[k][0] for k in ("z_f", "z_i", "z_c", "z_o", "f", "i", "c_tilde", "o", "c", "tanh_c", "h")}
    out.update(f_c_prev=f_c[0], i_c_tilde=i_ct[0], hidden_size=int(np.shape(b.to_numpy(g["h"]))[0]))
    # the page's chain with its rounded cell, as it prints it inside tanh(...)
    out["tanh_printed_c"] = b.tanh(b.const(inputs["printed_c"]))
    return out


def gru_scalar_step(inputs: dict, b: Backend) -> dict:
    """"Worked Example: Scalar GRU Step": h_t = (1 - z) h_{t-1} + z h~ with the page's z and h~."""
    h_prev, z, ht = (np.array([inputs[k]]) for k in ("h_prev", "z", "h_tilde"))
    zero = b.const(np.zeros(1))
    keep = b.run(T, "gru_interpolate", h_prev=h_prev, z=z, h_tilde=zero)
    take = b.run(T, "gru_interpolate", h_prev=zero, z=z, h_tilde=ht)
    h = b.run(T, "gru_interpolate", h_prev=h_prev, z=z, h_tilde=ht)
    h_torch = b.run(T, "gru_interpolate", h_prev=ht, z=z, h_tilde=h_prev)  # PyTorch's convention: z keeps h_prev
    return {"keep_term": keep[0], "candidate_term": take[0], "h": h[0], "h_torch_convention": h_torch[0]}


def lstm_gru_structure(inputs: dict, b: Backend) -> dict:
    """Interview guide, question 5: "Two gates versus three; fused hidden state; fewer parameters"."""
    d_h, d_x = inputs["d_h"], inputs["d_x"]
    x, h = np.zeros(d_x), np.zeros(d_h)
    W = np.zeros((d_h, d_h + d_x))
    lstm = b.run(T, "lstm_gates", x=x, h_prev=h, c_prev=h, W_f=W, W_i=W, W_c=W, W_o=W, b_f=h, b_i=h, b_c=h, b_o=h)
    gru = b.run(T, "gru_gates", x=x, h_prev=h, W_z=W, W_r=W, W=W, b_z=h, b_r=h, b=h)
    # gates: the sigmoid-valued intermediates (forget, input, output; update, reset)
    lstm_gates = sum(1 for k in ("f", "i", "o") if k in lstm)
    gru_gates = sum(1 for k in ("z", "r") if k in gru)
    # parameters: one (d_h, d_h + d_x) matrix and one bias per gate or candidate
    per_block = d_h * (d_h + d_x) + d_h
    return {"lstm_gate_count": lstm_gates, "gru_gate_count": gru_gates,
            "gru_to_lstm_parameters": (3 * per_block) / (4 * per_block)}
