"""Recipes for the seq2seq worked examples (sequence_to_sequence.md).

A recipe takes the example's ``inputs`` (NumPy arrays / numbers) and a backend, computes every
quantity the page prints with that backend's functions (exactly on SymPy: native values are chained
with ``Backend.run`` and converted once at the end), and returns them by name.
"""

from __future__ import annotations

import math

import numpy as np

from lmverify.backends import Backend
from lmverify.worked import NotForBackend

T = "seq2seq"


def decoder_step3(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Attention at Decoder Step 3": dot-product scores with their partial
    products, each exponential, the sum, each weight, each context dimension with its partial sums."""
    H = np.asarray(inputs["h_enc"], dtype=np.float64)
    h = np.asarray(inputs["h_dec"], dtype=np.float64)
    e = b.run(T, "luong_dot_score", h_dec=h, h_enc=H)
    exps = b.exp(e)
    alpha = b.run(T, "alignment_weights", e=e)
    ctx = b.run(T, "context_from_weights", alpha=alpha, h_enc=H)
    hn, Hn = b.const(h), b.const(H)
    out = {
        "T_src": H.shape[0],
        "hidden_size": H.shape[1],
        "scores": e,
        "exp_scores": exps,
        "sum_exp": sum(exps[j] for j in range(H.shape[0])),
        # the page's own arithmetic: the exponentials rounded to the 3 places it prints them with, then summed
        "sum_exp_of_printed": float(np.round(np.asarray(b.to_numpy(exps), dtype=float), 3).sum()),
        "weights": alpha,
        "context": ctx,
        "largest_weight_position": int(np.argmax(b.to_numpy(alpha))) + 1,  # 1-based, as the page counts
        "largest_weight": max(float(v) for v in b.to_numpy(alpha)),
    }
    # partial products of the scores, h_dec[i] * h_j[i], and of the context, alpha_j * h_j[d]
    for j in range(H.shape[0]):
        for i in range(H.shape[1]):
            out[f"score_{j + 1}_term_{i + 1}"] = hn[i] * Hn[j, i]
            out[f"context_{i + 1}_term_{j + 1}"] = alpha[j] * Hn[j, i]
    return out


def _toy_model(inputs: dict) -> dict:
    """The seeded toy encoder-decoder of the 'I am a student' walk-through (NumPy float64 weights).

    Encoder: Elman RNN, 4-D embeddings, 4-D states (W_xh square and invertible), h_0 = 0.
    Decoder: Elman RNN fed by h_0^dec = c (feed='init'), 4-D French embeddings. The output layer
    (W_out, b_out) is not trained but solved for: the affine map that sends the teacher-forced states
    for <sos> je suis un étudiant to logits with a margin of 4 on the next word. Every weight is data;
    the backends compute everything else.
    """
    rng = np.random.default_rng(int(inputs["seed"]))
    d = int(inputs["embedding_dim"])
    en, fr = list(inputs["english"]), list(inputs["french"])
    m = {
        "E_src": rng.normal(0, 1.0, (len(en), d)),
        "W_hh_enc": rng.normal(0, 0.4, (d, d)), "W_xh_enc": rng.normal(0, 0.4, (d, d)) + np.eye(d),
        "b_enc": rng.normal(0, 0.1, d),
        "E": rng.normal(0, 1.0, (len(fr), d)),
        "W_hh": rng.normal(0, 0.4, (d, d)), "W_xh": rng.normal(0, 0.6, (d, d)), "b": rng.normal(0, 0.1, d),
    }
    from reference.numpy.recurrent import rnn_forward

    src = [en.index(w) for w in inputs["source"]]
    hs_enc = rnn_forward(m["E_src"][src], np.zeros(d), m["W_hh_enc"], m["W_xh_enc"], m["b_enc"])
    target = [fr.index(w) for w in inputs["translation"]]
    dec_in = [fr.index("<sos>")] + target[:-1]
    hs_dec = rnn_forward(m["E"][dec_in], hs_enc[-1], m["W_hh"], m["W_xh"], m["b"])
    A = np.hstack([hs_dec, np.ones((len(target), 1))])
    Y = 4.0 * np.eye(len(fr))[target] - 2.0
    sol = np.linalg.lstsq(A, Y, rcond=None)[0]
    m["W_out"], m["b_out"] = sol[:-1].T, sol[-1]
    m["src"], m["target"] = src, target
    # a second English sentence reaching the SAME c: three other words, then a last input solved for
    other = [en.index(w) for w in inputs["other_source"]]
    xb = m["E_src"][other].copy()
    hb = rnn_forward(xb[:-1], np.zeros(d), m["W_hh_enc"], m["W_xh_enc"], m["b_enc"])
    xa = m["E_src"][src]
    xb[-1] = np.linalg.solve(m["W_xh_enc"], m["W_xh_enc"] @ xa[-1] + m["W_hh_enc"] @ (hs_enc[-2] - hb[-1]))
    m["x_same_c"] = xb
    m["x_other"] = m["E_src"][other]
    return m


def i_am_a_student(inputs: dict, b: Backend) -> dict:
    """Section "Worked Example: Translating 'I am a student'", made executable with a seeded toy model:
    encoder states h_1..h_4, c = h_4, h_0^dec = c, greedy decoding step by step, and the decoder
    seeing the source only through c."""
    if b.exact:
        raise NotForBackend("nine nested 4-D tanh steps grow too large for exact arithmetic; the bottleneck is "
                            "proved exactly in tests/test_seq2seq.py")
    m = _toy_model(inputs)
    d = int(inputs["embedding_dim"])
    fr = list(inputs["french"])
    x = m["E_src"][m["src"]]
    enc = lambda xs: b.run("recurrent", "rnn_forward", xs=xs, h0=np.zeros(d), W_hh=m["W_hh_enc"],  # noqa: E731
                           W_xh=m["W_xh_enc"], b=m["b_enc"])
    hs_enc = enc(x)
    c = b.run(T, "context_vector", hs_enc=hs_enc)
    dec = {k: m[k] for k in ("E", "W_hh", "W_xh", "b", "W_out", "b_out")}
    steps = len(m["target"])
    tokens, logits = b.run(T, "free_running_decode", h0=c, steps=steps, bos=fr.index("<sos>"), **dec)
    tokens = [int(t) for t in b.to_numpy(tokens)]
    probs = b.to_numpy(b.run(T, "output_distribution", h_dec=b.run(T, "teacher_forcing_logits", targets=np.array(m["target"]),
                                                                     h0=c, bos=fr.index("<sos>"), **dec), W=np.eye(len(fr)),
                             b=np.zeros(len(fr))))
    out = {
        "embedding_dim": d,
        "n_encoder_states": int(np.shape(b.to_numpy(hs_enc))[0]),
        "c_equals_h4": float(np.array_equal(b.to_numpy(c), b.to_numpy(hs_enc)[3])),
        "top_probability": probs.max(axis=-1),
    }
    # named by step, never by the word: "step t emits the t-th word of the translation"
    for t, word in enumerate(inputs["translation"], start=1):
        out[f"step{t}_token"] = tokens[t - 1]
        out[f"step{t}_is_target"] = float(tokens[t - 1] == fr.index(word))
    # teacher-forced decoder states start from h_0^dec = c: the first state equals one cell step from c
    ys = b.to_numpy(b.run(T, "decoder_forward", ys_prev=m["E"][[fr.index("<sos>")]], c=c, W_hh=m["W_hh"],
                          W_xh=m["W_xh"], b=m["b"], feed="init"))
    h1 = b.to_numpy(b.run("recurrent", "rnn_cell", x=m["E"][fr.index("<sos>")], h_prev=c, W_hh=m["W_hh"],
                          W_xh=m["W_xh"], b=m["b"]))
    out["h0_dec_is_c"] = float(np.allclose(ys[0], h1, rtol=0, atol=0))
    # the bottleneck: the decoder's distributions depend on the encoder states only through c
    ed = {k: m[k] for k in ("W_hh", "W_xh", "b", "W_out", "b_out")}
    ys_prev = m["E"][[fr.index("<sos>")] + m["target"][:-1]]
    p_a = b.to_numpy(b.run(T, "encoder_decoder_distributions", hs_enc=hs_enc, ys_prev=ys_prev, feed="init", **ed))
    scrambled = np.array(b.to_numpy(hs_enc))
    scrambled[:-1] = -scrambled[:-1] + 1.0
    scrambled_native = b.const(scrambled)
    p_scrambled = b.to_numpy(b.run(T, "encoder_decoder_distributions", hs_enc=scrambled_native, ys_prev=ys_prev,
                                   feed="init", **ed))
    hs_same = enc(m["x_same_c"])
    p_same = b.to_numpy(b.run(T, "encoder_decoder_distributions", hs_enc=hs_same, ys_prev=ys_prev, feed="init", **ed))
    hs_other = enc(m["x_other"])
    p_other = b.to_numpy(b.run(T, "encoder_decoder_distributions", hs_enc=hs_other, ys_prev=ys_prev, feed="init", **ed))
    hs_same_np, hs_np = np.asarray(b.to_numpy(hs_same)), np.asarray(b.to_numpy(hs_enc))
    out.update({
        "max_diff_earlier_states_replaced": float(np.max(np.abs(p_scrambled - p_a))),
        "same_c_sources_state1_diff": float(np.max(np.abs(hs_same_np[0] - hs_np[0]))),
        "same_c_context_diff": float(np.max(np.abs(hs_same_np[-1] - hs_np[-1]))),
        "max_diff_same_c_other_sentence": float(np.max(np.abs(p_same - p_a))),
        "max_diff_different_c": float(np.max(np.abs(p_other - p_a))),
    })
    return out


def bottleneck_capacity(inputs: dict, b: Backend) -> dict:
    """Section "The Bottleneck Problem": how many bits a 50-word source needs and how many a float32
    c in R^256 holds (a counting argument, no model)."""
    n_words, V, dim, bits = (int(inputs[k]) for k in ("n_words", "vocabulary", "context_dim", "bits_per_number"))
    needed = n_words * math.log2(V)
    available = dim * bits
    return {"n_words": n_words, "context_dim": dim, "context_dim_large": int(inputs["context_dim_large"]), "bits_needed": needed, "bits_available": available,
            "lossless_code_impossible": float(needed > available), "needed_over_available": needed / available}
