"""Word embeddings, PyTorch implementations (course page: word_embeddings.md).

Same names, parameters and conventions as ``reference.numpy.embeddings`` (see its docstring);
float32 or float64 (the dtype of the vectors given), differentiable with autograd, and batched
where the equation has a natural batch axis (``cosine_similarity`` and ``skipgram_softmax``
over leading axes). Word ids, codes, points and sentences are Python ints / lists.
The string functions of FastText (n-grams, hashing) have no tensor form: they are the NumPy
module's, re-exported, so a student's module is still held to the same names.
"""

from __future__ import annotations

import math

import torch

from reference.torch._common import accepts_numpy
import torch.nn.functional as F

from reference.numpy.embeddings import character_ngrams, fasttext_hash, huffman_tree, skipgram_pairs  # noqa: F401
from reference.numpy._common import check_scalar
from reference.numpy.embeddings import whole_id
from reference.numpy.embeddings import check_buckets, check_glove_weight_params, check_word_ids, window_positions, window_radius

_DTYPE = torch.float64


def _t(x, name: str, fn: str, ndim: int | None = None, like: torch.Tensor | None = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(x, dtype=like.dtype if like is not None else _DTYPE)
    if torch.isnan(x).any():
        raise ValueError(f"{fn}: {name} contains NaN")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{fn}: {name} must be {ndim}-D, got shape {tuple(x.shape)}")
    return x


def _ids(words, V: int, name: str, fn: str) -> list[int]:
    if isinstance(words, torch.Tensor):
        words = words.reshape(-1).tolist()
    out = [whole_id(w, name, fn) for w in (words if isinstance(words, (list, tuple)) else [words])]
    return check_word_ids(out, V, name, fn)




# -- one-hot and cosine ------------------------------------------------------------------------------


@accepts_numpy
def one_hot(index, V):
    """e_w in R^V (float64): 1 at position ``index``, 0 elsewhere."""
    if int(V) != V or V < 1:
        raise ValueError(f"one_hot: V must be an integer >= 1, got {V!r}")
    if int(index) != index or not 0 <= index < V:
        raise ValueError(f"one_hot: index {index!r} is outside 0..{int(V) - 1}")
    return F.one_hot(torch.tensor(int(index)), int(V)).to(_DTYPE)


@accepts_numpy
def cosine_similarity(u, v):
    """cos(u, v) along the last axis, batched over leading axes; ValueError for a zero vector."""
    u = _t(u, "u", "cosine_similarity")
    v = _t(v, "v", "cosine_similarity", like=u)
    if u.shape[-1:] != v.shape[-1:]:
        raise ValueError(f"cosine_similarity: u and v must have the same last dimension, got {tuple(u.shape)} "
                         f"and {tuple(v.shape)}")
    for x, name in ((u, "u"), (v, "v")):
        if torch.isinf(x).any():
            raise ValueError(f"cosine_similarity: {name} has an infinite entry (its direction is undefined); "
                             "expected finite vectors")
        if (x == 0).all(dim=-1).any():
            raise ValueError(f"cosine_similarity: {name} is a zero vector (it has no direction)")
    su = u.abs().amax(dim=-1, keepdim=True).detach()
    sv = v.abs().amax(dim=-1, keepdim=True).detach()
    u, v = u / su, v / sv
    return (u * v).sum(-1) / (torch.linalg.vector_norm(u, dim=-1) * torch.linalg.vector_norm(v, dim=-1))


@accepts_numpy
def analogy(E, a, b, c):
    """(q, scores, w*): q = v_a - v_b + v_c; scores[w] = cos(q, v_w), -inf for a, b, c; w* the argmax
    (lowest index among ties)."""
    E = _t(E, "E", "analogy", 2)
    V = E.shape[0]
    a, b, c = _ids([a, b, c], V, "(a, b, c)", "analogy")
    if V <= len({a, b, c}):
        raise ValueError(f"analogy: no candidate word is left once {sorted({a, b, c})} are excluded (V = {V})")
    q = E[a] - E[b] + E[c]
    if (q == 0).all():
        raise ValueError("analogy: q = v_a - v_b + v_c is a zero vector (it has no direction)")
    keep = [w for w in range(V) if w not in (a, b, c)]
    scores = torch.full((V,), -math.inf, dtype=E.dtype)
    scores[keep] = cosine_similarity(q.expand(len(keep), -1), E[keep])
    best = scores.max()
    winner = int(torch.nonzero(scores == best)[0, 0])
    return q, scores, winner


# -- CBOW and skip-gram -------------------------------------------------------------------------------


@accepts_numpy
def cbow_context(E, words, c):
    """h_t for every position (T, d): the mean of the neighbours' vectors (those that exist at an edge)."""
    E = _t(E, "E", "cbow_context", 2)
    ids = _ids(words, E.shape[0], "words", "cbow_context")
    c = window_radius(c)
    if len(ids) < 2:
        raise ValueError("cbow_context: a sentence of one word has no context")
    rows = [E[[ids[k] for k in window_positions(len(ids), t, c)]].mean(dim=0) for t in range(len(ids))]
    return torch.stack(rows)


@accepts_numpy
def cbow_log_likelihood(E_in, E_out, words, c):
    """sum_t log softmax(E_out h_t)[w_t]."""
    E_in = _t(E_in, "E_in", "cbow_log_likelihood", 2)
    E_out = _t(E_out, "E_out", "cbow_log_likelihood", 2, like=E_in)
    ids = _ids(words, E_out.shape[0], "words", "cbow_log_likelihood")
    H = cbow_context(E_in, ids, c)
    return torch.log_softmax(H @ E_out.T, dim=-1)[torch.arange(len(ids)), ids].sum()


@accepts_numpy
def skipgram_softmax(v_I, E_out):
    """softmax(E_out v_I) over the vocabulary; v_I: (..., d) -> (..., V)."""
    v_I = _t(v_I, "v_I", "skipgram_softmax")
    E_out = _t(E_out, "E_out", "skipgram_softmax", 2, like=v_I)
    return torch.softmax(v_I @ E_out.T, dim=-1)


@accepts_numpy
def skipgram_gradient(v_I, E_out, o):
    """(d log P(o | w_I) / d v_I, d log P(o | w_I) / d E_out), the closed forms."""
    v_I = _t(v_I, "v_I", "skipgram_gradient", 1)
    E_out = _t(E_out, "E_out", "skipgram_gradient", 2, like=v_I)
    (o,) = _ids([o], E_out.shape[0], "o", "skipgram_gradient")
    p = skipgram_softmax(v_I, E_out)
    r = F.one_hot(torch.tensor(o), E_out.shape[0]).to(p.dtype) - p
    return E_out[o] - p @ E_out, torch.outer(r, v_I)


@accepts_numpy
def skipgram_log_likelihood(E_in, E_out, words, c):
    """sum over the (center, context) pairs of the sentence of log P(context | center)."""
    E_in = _t(E_in, "E_in", "skipgram_log_likelihood", 2)
    E_out = _t(E_out, "E_out", "skipgram_log_likelihood", 2, like=E_in)
    _ids(words, min(E_in.shape[0], E_out.shape[0]), "words", "skipgram_log_likelihood")
    pairs = skipgram_pairs(words, c)
    if len(pairs) == 0:
        return E_in.new_zeros(())
    centers, contexts = torch.as_tensor(pairs[:, 0]), torch.as_tensor(pairs[:, 1])
    return torch.log_softmax(E_in[centers] @ E_out.T, dim=-1)[torch.arange(len(pairs)), contexts].sum()


# -- hierarchical softmax ------------------------------------------------------------------------------


@accepts_numpy
def hierarchical_softmax(v_I, node_vectors, codes, points):
    """Leaf probabilities prod_j sigma((1 - 2 code_j) v'_{point_j} . v_I), one per word (V,)."""
    v_I = _t(v_I, "v_I", "hierarchical_softmax", 1)
    N = _t(node_vectors, "node_vectors", "hierarchical_softmax", 2, like=v_I)
    if len(codes) != len(points):
        raise ValueError(f"hierarchical_softmax: codes and points must have one entry per word "
                         f"({len(codes)} != {len(points)})")
    out = []
    for w, (code, point) in enumerate(zip(codes, points)):
        if len(code) != len(point):
            raise ValueError(f"hierarchical_softmax: word {w} has {len(code)} code bits but {len(point)} points")
        if not len(code):
            out.append(v_I.new_ones(()))
            continue
        sign = 1.0 - 2.0 * torch.as_tensor([float(x) for x in code], dtype=v_I.dtype)
        out.append(F.logsigmoid(sign * (N[[int(p) for p in point]] @ v_I)).sum().exp())
    return torch.stack(out)


# -- negative sampling ----------------------------------------------------------------------------------


@accepts_numpy
def unigram_noise(counts, power=0.75):
    """count^power, normalised."""
    counts = _t(counts, "counts", "unigram_noise", 1)
    if (counts < 0).any() or not (counts > 0).any():
        raise ValueError("unigram_noise: counts must be non-negative with at least one positive count")
    check_scalar("unigram_noise", "power", power, low=0)
    w = counts ** power
    return w / w.sum()


@accepts_numpy
def negative_sampling_objective(v_I, v_O, V_neg):
    """log sigma(v'_O . v_I) + sum_i log sigma(-v'_i . v_I)."""
    v_I = _t(v_I, "v_I", "negative_sampling_objective", 1)
    v_O = _t(v_O, "v_O", "negative_sampling_objective", 1, like=v_I)
    V_neg = _t(V_neg, "V_neg", "negative_sampling_objective", 2, like=v_I)
    return F.logsigmoid(v_O @ v_I) + F.logsigmoid(-(V_neg @ v_I)).sum()


@accepts_numpy
def negative_sampling_expected(v_I, v_O, E_out, noise, k):
    """log sigma(v'_O . v_I) + k sum_w P_n(w) log sigma(-v'_w . v_I)."""
    v_I = _t(v_I, "v_I", "negative_sampling_expected", 1)
    v_O = _t(v_O, "v_O", "negative_sampling_expected", 1, like=v_I)
    E_out = _t(E_out, "E_out", "negative_sampling_expected", 2, like=v_I)
    noise = _t(noise, "noise", "negative_sampling_expected", 1, like=v_I)
    check_scalar("negative_sampling_expected", "k", k, above=0)
    return F.logsigmoid(v_O @ v_I) + k * (noise * F.logsigmoid(-(E_out @ v_I))).sum()


def _counts(X, fn: str, like=None) -> torch.Tensor:
    X = _t(X, "X", fn, 2, like=like)
    if (X < 0).any() or (~torch.isfinite(X)).any():
        raise ValueError(f"{fn}: X must hold non-negative finite counts")
    if not (X > 0).any():
        raise ValueError(f"{fn}: X has no positive count")
    return X


@accepts_numpy
def sgns_objective(S, X, k):
    """sum_{w,c} #(w,c) log sigma(S_wc) + k #(w) #(c) / |D| log sigma(-S_wc)."""
    S = _t(S, "S", "sgns_objective", 2)
    X = _counts(X, "sgns_objective", like=S)
    check_scalar("sgns_objective", "k", k, above=0)
    expected = torch.outer(X.sum(dim=1), X.sum(dim=0)) / X.sum()
    return (X * F.logsigmoid(S) + k * expected * F.logsigmoid(-S)).sum()


@accepts_numpy
def sgns_optimum(X, k):
    """PMI(w, c) - log k."""
    check_scalar("sgns_optimum", "k", k, above=0)
    return pmi(X) - math.log(k)


# -- PMI ----------------------------------------------------------------------------------------------------


@accepts_numpy
def pmi(X):
    """log P(w, c) / (P(w) P(c)) from counts; -inf for zero counts."""
    X = _counts(X, "pmi")
    row, col = X.sum(dim=1), X.sum(dim=0)
    if (row == 0).any() or (col == 0).any():
        raise ValueError("pmi: every word and context needs a positive count (P(w) = 0 makes PMI undefined)")
    return torch.log(X) + torch.log(X.sum()) - torch.log(row)[:, None] - torch.log(col)[None, :]


@accepts_numpy
def ppmi(X):
    """max(PMI, 0)."""
    return torch.clamp(pmi(X), min=0.0)


# -- GloVe ---------------------------------------------------------------------------------------------------


@accepts_numpy
def cooccurrence_matrix(sentences, V, window, weighting="count"):
    """X (V, V), float64: counts (or 1/distance) of every word within ``window`` of each word."""
    if weighting not in ("count", "harmonic"):
        raise ValueError(f"cooccurrence_matrix: weighting must be 'count' or 'harmonic', got {weighting!r}")
    window = window_radius(window)
    V = check_scalar("cooccurrence_matrix", "V", V, low=1, integer=True)
    X = torch.zeros((int(V), int(V)), dtype=_DTYPE)
    for s in sentences:
        ids = _ids(list(s), int(V), "sentences", "cooccurrence_matrix")
        centers, contexts, weights = [], [], []
        for t in range(len(ids)):
            for k in window_positions(len(ids), t, window):
                centers.append(ids[t])
                contexts.append(ids[k])
                weights.append(1.0 if weighting == "count" else 1.0 / abs(k - t))
        if centers:
            X.index_put_((torch.tensor(centers), torch.tensor(contexts)), torch.tensor(weights, dtype=_DTYPE),
                         accumulate=True)
    return X


@accepts_numpy
def glove_weight(x, x_max=100.0, alpha=0.75):
    """min((x / x_max)^alpha, 1)."""
    x = _t(x, "x", "glove_weight")
    check_glove_weight_params("glove_weight", x_max, alpha)
    if (x < 0).any():
        raise ValueError("glove_weight: x must be non-negative counts")
    return torch.clamp((x / x_max) ** alpha, max=1.0)


@accepts_numpy
def glove_loss(W, W_tilde, b, b_tilde, X, x_max=100.0, alpha=0.75):
    """sum over nonzero X_ij of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2."""
    W = _t(W, "W", "glove_loss", 2)
    Wt = _t(W_tilde, "W_tilde", "glove_loss", 2, like=W)
    b = _t(b, "b", "glove_loss", 1, like=W)
    bt = _t(b_tilde, "b_tilde", "glove_loss", 1, like=W)
    X = _counts(X, "glove_loss", like=W)
    nz = X > 0
    logX = torch.log(torch.where(nz, X, torch.ones_like(X)))
    r = W @ Wt.T + b[:, None] + bt[None, :] - logX
    return torch.where(nz, glove_weight(X, x_max, alpha) * r ** 2, torch.zeros_like(r)).sum()


# -- FastText -------------------------------------------------------------------------------------------------


@accepts_numpy
def fasttext_word_vector(word, Z, minn=3, maxn=6):
    """sum of the rows of Z (buckets, d) that the word's n-grams hash to."""
    Z = _t(Z, "Z", "fasttext_word_vector", 2)
    check_buckets("fasttext_word_vector", Z.shape[0])
    rows = [fasttext_hash(g) % Z.shape[0] for g in character_ngrams(word, minn, maxn)]
    return Z[rows].sum(dim=0)


# -- gradients over the whole embedding tables ----------------------------------------------------------


def _tables(W_in, W_out, fn: str) -> tuple[torch.Tensor, torch.Tensor]:
    from reference.numpy.embeddings import check_tables

    W_in = _t(W_in, "W_in", fn)
    W_out = _t(W_out, "W_out", fn, like=W_in).to(W_in.dtype)
    check_tables(fn, tuple(W_in.shape), tuple(W_out.shape))
    for x, name in ((W_in, "W_in"), (W_out, "W_out")):
        if torch.isinf(x).any():
            raise ValueError(f"{fn}: {name} has an infinite entry; expected finite embeddings")
    return W_in, W_out


def _occurrences(ids: list[int], V: int, like: torch.Tensor) -> torch.Tensor:
    """n_w: how many times each word id occurs in ``ids`` (V,), in ``like``'s dtype."""
    return torch.zeros(V, dtype=like.dtype).index_add_(0, torch.tensor(ids, dtype=torch.long),
                                                       torch.ones(len(ids), dtype=like.dtype))


@accepts_numpy
def skipgram_table_gradients(W_in, W_out, centre, context):
    """(dL/dW_in, dL/dW_out), L = sum_{o in context} log P(o | centre): r = n - |context| softmax(W_out v_c);
    row centre of dL/dW_in is r W_out, dL/dW_out = r v_c^T."""
    from reference.numpy.embeddings import one_word_id, table_word_ids

    fn = "skipgram_table_gradients"
    W_in, W_out = _tables(W_in, W_out, fn)
    c = one_word_id(centre, W_in.shape[0], "centre", fn)
    ctx = table_word_ids(context, W_out.shape[0], "context", fn)
    v = W_in[c]
    r = _occurrences(ctx, W_out.shape[0], W_out) - len(ctx) * torch.softmax(W_out @ v, dim=0)
    G_in = torch.zeros_like(W_in).index_add_(0, torch.tensor([c]), (r @ W_out)[None, :])
    return G_in, torch.outer(r, v)


@accepts_numpy
def negative_sampling_table_gradients(W_in, W_out, centre, context, negatives):
    """(dL/dW_in, dL/dW_out), L = log sigma(v'_o . v_c) + sum_i log sigma(-v'_{n_i} . v_c): r_o = sigma(-s_o),
    r_{n_i} = -sigma(s_{n_i}) accumulated per word (index_add_); row c of dL/dW_in is r W_out, dL/dW_out = r v_c^T."""
    from reference.numpy.embeddings import one_word_id, table_word_ids

    fn = "negative_sampling_table_gradients"
    W_in, W_out = _tables(W_in, W_out, fn)
    c = one_word_id(centre, W_in.shape[0], "centre", fn)
    o = one_word_id(context, W_out.shape[0], "context", fn)
    neg = table_word_ids(negatives, W_out.shape[0], "negatives", fn, allow_empty=True)
    v = W_in[c]
    ids = torch.tensor([o] + neg, dtype=torch.long)
    s = W_out[ids] @ v
    sign = torch.ones(len(ids), dtype=W_out.dtype)
    sign[1:] = -1.0
    # r_o = sigma(-s_o) = 1 - sigma(s_o); r_n = -sigma(s_n): both sign * sigma(-sign * s)
    r = torch.zeros(W_out.shape[0], dtype=W_out.dtype).index_add_(0, ids, sign * torch.sigmoid(-sign * s))
    G_in = torch.zeros_like(W_in).index_add_(0, torch.tensor([c]), (r @ W_out)[None, :])
    return G_in, torch.outer(r, v)


@accepts_numpy
def cbow_table_gradients(W_in, W_out, centre, context):
    """(dL/dW_in, dL/dW_out), L = log P(centre | h), h the mean of the context rows: r = e_centre - softmax(W_out h);
    dL/dW_out = r h^T; each context occurrence adds (1 / |context|) r W_out to its row of dL/dW_in."""
    from reference.numpy.embeddings import one_word_id, table_word_ids

    fn = "cbow_table_gradients"
    W_in, W_out = _tables(W_in, W_out, fn)
    o = one_word_id(centre, W_out.shape[0], "centre", fn)
    ctx = table_word_ids(context, W_in.shape[0], "context", fn)
    idx = torch.tensor(ctx, dtype=torch.long)
    h = W_in[idx].mean(dim=0)
    r = F.one_hot(torch.tensor(o), W_out.shape[0]).to(W_out.dtype) - torch.softmax(W_out @ h, dim=0)
    g_h = r @ W_out
    G_in = torch.zeros_like(W_in).index_add_(0, idx, (g_h / len(ctx)).expand(len(ctx), -1))
    return G_in, torch.outer(r, h)
