"""Recipes for the word-embeddings worked examples (word_embeddings.md).

A recipe takes the example's ``inputs`` (NumPy arrays / numbers / strings) and a backend, computes
every quantity the page prints with that backend's functions (exact end to end on SymPy: ``b.run``
keeps native values), and returns them by name. The suite judges the page's claims against them.

List claims (the pairs of a sentence, the n-grams of a word) are judged as sets. The worked-example
machinery judges numbers, so each list claim becomes two numbers here: the size of the computed
set (``*_count``) and ``*_match_page``, 1 when the computed set equals the list the page prints
(transcribed under ``inputs.printed``) and 0 otherwise. tests/test_embeddings_worked.py loads the
same printed lists and asserts set equality with a message naming what is missing and what is extra.
"""

from __future__ import annotations

import numpy as np

from lmverify.backends import Backend

T = "embeddings"


def set_difference(computed, printed) -> tuple[list, list]:
    """(missing from the page, extra on the page) between a computed and a printed list, as sets."""
    c, p = {_key(x) for x in computed}, {_key(x) for x in printed}
    return sorted(c - p), sorted(p - c)


def _key(x):
    return tuple(x) if isinstance(x, (list, tuple)) else x


def _match(computed, printed) -> float:
    missing, extra = set_difference(computed, printed)
    return 1.0 if not missing and not extra else 0.0


def one_hot_orthogonality(inputs: dict, b: Backend) -> dict:
    """Section "The Math (One-Hot Orthogonality)": u_a . u_b = 0 and ||u_a|| = ||u_b|| = 1 for distinct
    words a, b, checked on one instance (a vocabulary of size V, two distinct indices)."""
    V, a, c = int(inputs["V"]), int(inputs["a"]), int(inputs["b"])
    if a == c:
        raise ValueError("one_hot_orthogonality: a and b must be distinct words")
    u_a, u_b = b.run(T, "one_hot", a, V), b.run(T, "one_hot", c, V)
    return {
        "dot_a_b": sum(u_a[i] * u_b[i] for i in range(V)),
        "norm_a": b.sqrt(sum(u_a[i] * u_a[i] for i in range(V))),
        "norm_b": b.sqrt(sum(u_b[i] * u_b[i] for i in range(V))),
        "cosine_a_b": b.run(T, "cosine_similarity", u_a, u_b),
    }


def cosine_two_dimensions(inputs: dict, b: Backend) -> dict:
    """Box "Worked Example: Cosine Similarity in Two Dimensions (Illustrative)"."""
    cat, dog, rocket = (b.const(inputs[k]) for k in ("cat", "dog", "rocket"))

    def dot(u, v):
        return sum(u[i] * v[i] for i in range(2))

    out = {}
    for name, v in (("cat", cat), ("dog", dog), ("rocket", rocket)):
        out[f"{name}_sq_0"], out[f"{name}_sq_1"] = v[0] * v[0], v[1] * v[1]
        out[f"norm_{name}"] = b.sqrt(dot(v, v))
    out["dot_cat_dog"] = dot(cat, dog)
    out["dot_cat_rocket"] = dot(cat, rocket)
    out["norm_product_cat_dog"] = out["norm_cat"] * out["norm_dog"]
    out["norm_product_cat_rocket"] = out["norm_cat"] * out["norm_rocket"]
    out["cosine_cat_dog"] = b.run(T, "cosine_similarity", inputs["cat"], inputs["dog"])
    out["cosine_cat_rocket"] = b.run(T, "cosine_similarity", inputs["cat"], inputs["rocket"])
    return out


def analogy_two_dimensions(inputs: dict, b: Backend) -> dict:
    """Box "Worked Example: Two-Dimensional Analogy Arithmetic" (vocabulary king, man, woman, queen, child)."""
    vocab = list(inputs["vocabulary"])
    E = inputs["E"]
    ix = {w: vocab.index(w) for w in vocab}
    q, scores, winner = b.run(T, "analogy", E, ix["king"], ix["man"], ix["woman"])
    Eb = b.const(E)
    child = [Eb[ix["child"], j] for j in range(2)]
    q_list = [q[j] for j in range(2)]
    dot_child = sum(q_list[j] * child[j] for j in range(2))
    return {
        "q": q,
        "cosine_q_queen": scores[ix["queen"]],
        "cosine_q_child": scores[ix["child"]],
        "dot_q_child": dot_child,
        "norm_q_squared": sum(x * x for x in q_list),
        "norm_child": b.sqrt(sum(child[j] * child[j] for j in range(2))),
        "winner_is_queen": 1.0 if int(winner) == ix["queen"] else 0.0,
    }


def skipgram_step(inputs: dict, b: Backend) -> dict:
    """Box "Worked Example: Skip-Gram Step with Concrete Numbers"."""
    vocab = list(inputs["vocabulary"])
    v_king, E_out = inputs["v_king"], inputs["E_out"]
    Eo, v = b.const(E_out), b.const(v_king)
    scores = [Eo[i, 0] * v[0] + Eo[i, 1] * v[1] for i in range(len(vocab))]
    p = b.run(T, "skipgram_softmax", v_king, E_out)
    out = {}
    exps = []
    for i, w in enumerate(vocab):
        s = scores[i]
        out[f"score_{w}"] = s
        exps.append(b.exp(s))
        out[f"exp_score_{w}"] = exps[-1]
    out["denominator"] = sum(exps)
    out["vocab_size"] = float(len(vocab))                     # rows of the output matrix
    out["embedding_dim"] = float(np.shape(E_out)[1])          # its columns (= len(v_king))
    q = vocab.index(inputs["true_context"])
    out["p_queen_given_king"] = p[q]
    out["log_p_queen_given_king"] = b.log(p[q])
    return out


def negative_sampling_arithmetic(inputs: dict, b: Backend) -> dict:
    """Box "Worked Example: Negative Sampling Probability Arithmetic" (k = 2)."""
    s_pos = b.const(inputs["s_queen"])
    s_neg = [b.const(x) for x in inputs["s_negatives"]]
    out = {"sigma_pos": b.sigmoid(s_pos), "log_sigma_pos": b.log(b.sigmoid(s_pos))}
    for name, s in zip(inputs["negative_names"], s_neg):
        out[f"minus_s_{name}"] = -s  # the argument of the negative's sigma
        out[f"sigma_neg_{name}"] = b.sigmoid(-s)
        out[f"log_sigma_neg_{name}"] = b.log(b.sigmoid(-s))
    # the objective through the catalogued function: 1-D vectors with v_I = (1), v'_w = (s_w)
    out["objective"] = b.run(T, "negative_sampling_objective", np.array([1.0]), np.array([inputs["s_queen"]]),
                             np.array([[x] for x in inputs["s_negatives"]]))
    out["k"] = float(len(inputs["s_negatives"]))
    return out


def cooccurrence_five_words(inputs: dict, b: Backend) -> dict:
    """Box "Worked Example: Five-Word Vocabulary Co-occurrence Counts" (window 1)."""
    vocab = list(inputs["vocabulary"])
    sentences = [[vocab.index(w) for w in s.split()] for s in inputs["sentences"]]
    window = int(inputs["window"])
    X = b.run(T, "cooccurrence_matrix", sentences, len(vocab), window)
    Xn = np.asarray(b.to_numpy(X), dtype=np.float64)
    out = {"X": X}
    printed = inputs["printed"]
    for k, s in enumerate(sentences):
        # the page lists each pair once, left word first: the pairs (t, t + j), j = 1..window
        pairs = [[vocab[s[t]], vocab[s[t + j]]] for t in range(len(s)) for j in range(1, window + 1) if t + j < len(s)]
        n = k + 1
        # as unordered pairs, equal to the computed X's positive cells of this sentence alone
        Xs = np.asarray(b.to_numpy(b.run(T, "cooccurrence_matrix", [s], len(vocab), window)), dtype=np.float64)
        out[f"sentence_{n}_pair_count"] = float(np.count_nonzero(np.triu(Xs, 1) + np.tril(Xs, -1).T))
        out[f"sentence_{n}_pairs_match_page"] = _match([tuple(sorted(p)) for p in pairs],
                                                       [tuple(sorted(p)) for p in printed[f"sentence_{n}"]])
    for a, c in (p for p in printed["aggregate"]):
        out[f"count_{a}_{c}"] = X[vocab.index(a), vocab.index(c)]
    upper = [(vocab[i], vocab[j]) for i in range(len(vocab)) for j in range(i + 1, len(vocab)) if Xn[i, j] > 0]
    out["unordered_pair_count"] = float(len(upper))
    out["unordered_pairs_match_page"] = _match([tuple(sorted(p)) for p in upper],
                                               [tuple(sorted(p)) for p in printed["aggregate"]])
    # the sentences (numbered from 1) in which bank and water co-occur within the window
    bank, water = vocab.index("bank"), vocab.index("water")
    out["sentences_with_bank_water"] = [
        float(k + 1) for k, s in enumerate(sentences)
        if float(np.asarray(b.to_numpy(b.run(T, "cooccurrence_matrix", [s], len(vocab), window)))[bank, water]) > 0]
    out["row_total_bank"] = sum(X[bank, j] for j in range(len(vocab)) if j != bank)
    out["row_bank_partner_count"] = float(sum(1 for j in range(len(vocab)) if j != bank and Xn[bank, j] > 0))
    return out


def fasttext_ngrams(inputs: dict, b: Backend) -> dict:
    """Section "FastText and Subwords" (`where`) and box "Worked Example: Decomposing `running`"."""
    n = int(inputs["n"])
    grams = b.fn(T, "character_ngrams")
    printed = inputs["printed"]
    out = {}
    for word in ("where", "running"):
        g = grams(word, n, n)
        out[f"{word}_ngram_count"] = float(len(set(g)))
        out[f"{word}_ngrams"] = list(g)                      # a list claim (members: set)
        out[f"{word}_ngrams_match_page"] = _match(g, printed[word])
    shared = set(grams("run", n, n)) & set(grams("running", n, n))
    out["run_running_shared_count"] = float(len(shared))
    out["run_running_shared"] = shared
    out["run_running_shared_match_page"] = _match(shared, printed["shared_run_running"])
    return out
