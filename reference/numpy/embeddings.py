"""Word embeddings, NumPy float64 references (course page: word_embeddings.md).

One function per equation, named and parametrised as the page writes it. Conventions:

* an embedding table ``E`` is (V, d): row w is the vector of word w (input vectors ``E_in``,
  output vectors ``E_out`` = the page's v'_w);
* a corpus is a sequence of word ids (``words``), or a list of such sentences;
* ``c`` is the window radius; at a sentence edge only the neighbours that exist are used
  (CBOW averages over those, as word2vec.c and gensim's ``cbow_mean=1`` do);
* ties in the analogy argmax go to the lowest word index (``np.argmax``'s rule);
* cosine similarity of a zero vector is undefined (it has no direction): ValueError, never NaN;
* PMI of a zero count is -inf (PPMI clips it to 0);
* hierarchical softmax follows word2vec's convention: bit 0 of a code goes with sigma(v'_n . v_I),
  bit 1 with sigma(-v'_n . v_I); ``points`` are the inner nodes on the path, root first.
"""

from __future__ import annotations

import heapq

import numpy as np
from reference.numpy._common import check_scalar
from reference.numpy._common import log_softmax as _log_softmax

# -- validation ----------------------------------------------------------------------------------


def _arr(x, name: str, fn: str, ndim: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if np.isnan(a).any():
        raise ValueError(f"{fn}: {name} contains NaN")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{fn}: {name} must be {ndim}-D, got shape {a.shape}")
    return a


def check_word_ids(ids: list[int], V: int, name: str, fn: str) -> list[int]:
    """Word ids must lie in the vocabulary 0..V-1 (shared by the three forms, which pass a list)."""
    bad = [w for w in ids if not 0 <= w < V]
    if bad:
        raise ValueError(f"{fn}: {name} has word ids {bad} outside the vocabulary 0..{V - 1}")
    return ids


def whole_id(w, name: str, fn: str) -> int:
    """One word id as an int; a non-integer (1.5, NaN, inf) is a ValueError naming ``name`` (never truncated)."""
    try:
        ok = not isinstance(w, (bool, np.bool_, str)) and float(w) == int(w)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{fn}: {name} must hold integer word ids, got {w!r}")
    return int(w)


def _ids(words, V: int, name: str, fn: str) -> list[int]:
    return check_word_ids([whole_id(w, name, fn) for w in np.asarray(words).ravel().tolist()], V, name, fn)


def window_radius(c) -> int:
    """A window radius c: an integer >= 1 (shared by the three forms)."""
    if int(c) != c or c < 1:
        raise ValueError(f"window radius c must be an integer >= 1, got {c!r}")
    return int(c)


def _log_sigmoid(x):
    x = np.asarray(x, dtype=np.float64)
    return -np.logaddexp(0.0, -x)


# -- one-hot and cosine ------------------------------------------------------------------------------


def one_hot(index, V):
    """e_w in R^V: 1 at position ``index`` (0-based), 0 elsewhere. Returns a (V,) float64 array."""
    if int(V) != V or V < 1:
        raise ValueError(f"one_hot: V must be an integer >= 1, got {V!r}")
    if int(index) != index or not 0 <= index < V:
        raise ValueError(f"one_hot: index {index!r} is outside 0..{int(V) - 1}")
    e = np.zeros(int(V))
    e[int(index)] = 1.0
    return e


def cosine_similarity(u, v):
    """cos(u, v) = u.v / (||u|| ||v||) along the last axis (u, v: (..., d)); returns (...).

    A zero vector has no direction: ValueError naming the argument (never a silent NaN).
    """
    u, v = _arr(u, "u", "cosine_similarity"), _arr(v, "v", "cosine_similarity")
    if u.shape[-1:] != v.shape[-1:]:
        raise ValueError(f"cosine_similarity: u and v must have the same last dimension, got {u.shape} and {v.shape}")
    for x, name in ((u, "u"), (v, "v")):
        if np.isinf(x).any():
            raise ValueError(f"cosine_similarity: {name} has an infinite entry (its direction is undefined); "
                             "expected finite vectors")
        if np.any(np.all(x == 0, axis=-1)):
            raise ValueError(f"cosine_similarity: {name} is a zero vector (it has no direction)")
    # scale each vector by its largest entry first: the norms neither overflow nor underflow
    su, sv = np.max(np.abs(u), axis=-1, keepdims=True), np.max(np.abs(v), axis=-1, keepdims=True)
    u, v = u / su, v / sv
    return np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))


# -- analogies ------------------------------------------------------------------------------------------


def analogy(E, a, b, c):
    """The analogy rule: q = v_a - v_b + v_c and w* = argmax over V minus {a, b, c} of cos(q, v_w).

    E: (V, d) embeddings; a, b, c: word ids (king, man, woman). Returns (q (d,), scores (V,),
    w*): scores[w] = cos(q, v_w), and -inf for the three query words (they never win). Ties go to
    the lowest index. ValueError if q or a candidate vector is zero, or no candidate is left.
    """
    E = _arr(E, "E", "analogy", ndim=2)
    V = E.shape[0]
    a, b, c = _ids([a, b, c], V, "(a, b, c)", "analogy")
    if V <= len({a, b, c}):
        raise ValueError(f"analogy: no candidate word is left once {sorted({a, b, c})} are excluded (V = {V})")
    q = E[a] - E[b] + E[c]
    if not np.any(q):
        raise ValueError("analogy: q = v_a - v_b + v_c is a zero vector (it has no direction)")
    scores = np.full(V, -np.inf)
    for w in range(V):
        if w not in (a, b, c):
            scores[w] = cosine_similarity(q, E[w])
    return q, scores, int(np.argmax(scores))


# -- CBOW and skip-gram -------------------------------------------------------------------------------


def window_positions(T: int, t: int, c: int) -> list[int]:
    """Positions of the neighbours of t within radius c in a sentence of T words (fewer at the edges)."""
    return [t + j for j in range(-c, c + 1) if j != 0 and 0 <= t + j < T]


def cbow_context(E, words, c):
    """h_t = average of v_{w_{t+j}} over the neighbours 0 < |j| <= c (T, d), for every position t.

    In the interior that is the page's 1/(2c) sum; at a sentence edge the average is over the
    neighbours that exist (word2vec.c, gensim cbow_mean=1). ValueError for a one-word sentence.
    """
    E = _arr(E, "E", "cbow_context", ndim=2)
    ids = _ids(words, E.shape[0], "words", "cbow_context")
    c = window_radius(c)
    if len(ids) < 2:
        raise ValueError("cbow_context: a sentence of one word has no context")
    return np.stack([np.mean([E[ids[k]] for k in window_positions(len(ids), t, c)], axis=0) for t in range(len(ids))])


def cbow_log_likelihood(E_in, E_out, words, c):
    """sum_t log P(w_t | h_t), P(. | h) = softmax(E_out h) over the vocabulary."""
    E_in, E_out = _arr(E_in, "E_in", "cbow_log_likelihood", 2), _arr(E_out, "E_out", "cbow_log_likelihood", 2)
    ids = _ids(words, E_out.shape[0], "words", "cbow_log_likelihood")
    H = cbow_context(E_in, ids, c)
    return float(np.sum(_log_softmax(H @ E_out.T)[np.arange(len(ids)), ids]))


def skipgram_pairs(words, c):
    """Every (center, context) pair of a sentence, window radius c, edges included: (n, 2) int array,
    in the order of the page's double sum (t, then j from -c to c)."""
    ids = [int(w) for w in np.asarray(words).ravel()]
    c = window_radius(c)
    pairs = [(ids[t], ids[k]) for t in range(len(ids)) for k in window_positions(len(ids), t, c)]
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def skipgram_softmax(v_I, E_out):
    """P(w_O | w_I) for every output word: softmax(E_out v_I). v_I: (..., d), E_out: (V, d) -> (..., V)."""
    v_I, E_out = _arr(v_I, "v_I", "skipgram_softmax"), _arr(E_out, "E_out", "skipgram_softmax", 2)
    return np.exp(_log_softmax(v_I @ E_out.T))


def skipgram_gradient(v_I, E_out, o):
    """The analytic gradient of log P(o | w_I): (d/dv_I, d/dE_out) =
    (v'_o - sum_w p_w v'_w,  (1[w = o] - p_w) v_I for each row w)."""
    v_I, E_out = _arr(v_I, "v_I", "skipgram_gradient", 1), _arr(E_out, "E_out", "skipgram_gradient", 2)
    (o,) = _ids([o], E_out.shape[0], "o", "skipgram_gradient")
    p = skipgram_softmax(v_I, E_out)
    r = -p
    r[o] += 1.0
    return E_out[o] - p @ E_out, np.outer(r, v_I)


def skipgram_log_likelihood(E_in, E_out, words, c):
    """L = sum_t sum_{0 < |j| <= c} log P(w_{t+j} | w_t) over one sentence (pairs at the edges included)."""
    E_in = _arr(E_in, "E_in", "skipgram_log_likelihood", 2)
    E_out = _arr(E_out, "E_out", "skipgram_log_likelihood", 2)
    _ids(words, min(E_in.shape[0], E_out.shape[0]), "words", "skipgram_log_likelihood")
    pairs = skipgram_pairs(words, c)
    if len(pairs) == 0:
        return 0.0
    logp = _log_softmax(E_in[pairs[:, 0]] @ E_out.T)
    return float(np.sum(logp[np.arange(len(pairs)), pairs[:, 1]]))


# -- hierarchical softmax ------------------------------------------------------------------------------


def huffman_tree(counts):
    """Huffman codes from word counts, as word2vec/gensim build them: (codes, points), one list per word.

    Repeatedly merge the two least frequent nodes (ties: the node created first, leaves by index;
    the first popped is the left child, code 0). codes[w] is the bit string from the root,
    points[w] the inner-node ids on the path (root = V - 2). A single word gets an empty code.
    """
    counts = [float(x) for x in np.asarray(counts, dtype=np.float64).ravel()]
    if not counts or any(x < 0 or not np.isfinite(x) for x in counts):
        raise ValueError(f"huffman_tree: counts must be a non-empty list of non-negative numbers, got {counts}")
    V = len(counts)
    heap = [(x, i) for i, x in enumerate(counts)]
    heapq.heapify(heap)
    children: dict[int, tuple[int, int]] = {}
    for i in range(V - 1):
        (x1, n1), (x2, n2) = heapq.heappop(heap), heapq.heappop(heap)
        children[V + i] = (n1, n2)
        heapq.heappush(heap, (x1 + x2, V + i))
    codes: list[list[int]] = [[] for _ in range(V)]
    points: list[list[int]] = [[] for _ in range(V)]
    stack = [(heap[0][1], [], [])]
    while stack:
        node, code, point = stack.pop()
        if node < V:
            codes[node], points[node] = code, point
        else:
            left, right = children[node]
            stack.append((left, code + [0], point + [node - V]))
            stack.append((right, code + [1], point + [node - V]))
    return codes, points


def hierarchical_softmax(v_I, node_vectors, codes, points):
    """P(w | w_I) = prod_j sigma((1 - 2 code_j) v'_{point_j} . v_I) for every word (its root-to-leaf path).

    v_I: (d,); node_vectors: (V - 1, d) inner-node vectors; codes, points: from :func:`huffman_tree`.
    Returns (V,) leaf probabilities (they sum to one for a full binary tree).
    """
    v_I = _arr(v_I, "v_I", "hierarchical_softmax", 1)
    N = _arr(node_vectors, "node_vectors", "hierarchical_softmax", 2)
    if len(codes) != len(points):
        raise ValueError(f"hierarchical_softmax: codes and points must have one entry per word "
                         f"({len(codes)} != {len(points)})")
    out = np.empty(len(codes))
    for w, (code, point) in enumerate(zip(codes, points)):
        if len(code) != len(point):
            raise ValueError(f"hierarchical_softmax: word {w} has {len(code)} code bits but {len(point)} points")
        sign = 1.0 - 2.0 * np.asarray(code, dtype=np.float64)
        out[w] = np.exp(np.sum(_log_sigmoid(sign * (N[np.asarray(point, dtype=np.int64)] @ v_I)))) if code else 1.0
    return out


# -- negative sampling ----------------------------------------------------------------------------------


def unigram_noise(counts, power=0.75):
    """P_n(w) = count(w)^power / sum_u count(u)^power (word2vec's unigram^(3/4))."""
    counts = _arr(counts, "counts", "unigram_noise", 1)
    if np.any(counts < 0) or not np.any(counts > 0):
        raise ValueError("unigram_noise: counts must be non-negative with at least one positive count")
    check_scalar("unigram_noise", "power", power, low=0)
    w = counts ** power
    return w / w.sum()


def negative_sampling_objective(v_I, v_O, V_neg):
    """log sigma(v'_O . v_I) + sum_i log sigma(-v'_i . v_I) for k sampled negatives (rows of V_neg (k, d))."""
    v_I = _arr(v_I, "v_I", "negative_sampling_objective", 1)
    v_O = _arr(v_O, "v_O", "negative_sampling_objective", 1)
    V_neg = _arr(V_neg, "V_neg", "negative_sampling_objective", 2)
    return float(_log_sigmoid(v_O @ v_I) + np.sum(_log_sigmoid(-(V_neg @ v_I))))


def negative_sampling_expected(v_I, v_O, E_out, noise, k):
    """The page's display: log sigma(v'_O . v_I) + sum_{i=1}^k E_{w ~ P_n}[log sigma(-v'_w . v_I)]
    = log sigma(v'_O . v_I) + k sum_w P_n(w) log sigma(-v'_w . v_I)."""
    v_I = _arr(v_I, "v_I", "negative_sampling_expected", 1)
    v_O = _arr(v_O, "v_O", "negative_sampling_expected", 1)
    E_out = _arr(E_out, "E_out", "negative_sampling_expected", 2)
    noise = _arr(noise, "noise", "negative_sampling_expected", 1)
    check_scalar("negative_sampling_expected", "k", k, above=0)
    return float(_log_sigmoid(v_O @ v_I) + k * np.sum(noise * _log_sigmoid(-(E_out @ v_I))))


def sgns_objective(S, X, k):
    """Levy & Goldberg's skip-gram-with-negative-sampling objective over a co-occurrence table:
    sum_{w,c} [#(w,c) log sigma(S_wc) + k #(w) #(c) / |D| log sigma(-S_wc)], S_wc = v'_c . v_w."""
    S, X = _arr(S, "S", "sgns_objective", 2), _counts(X, "sgns_objective")
    check_scalar("sgns_objective", "k", k, above=0)
    N = X.sum()
    expected = np.outer(X.sum(axis=1), X.sum(axis=0)) / N
    return float(np.sum(X * _log_sigmoid(S) + k * expected * _log_sigmoid(-S)))


def sgns_optimum(X, k):
    """The per-pair optimum of :func:`sgns_objective`: S_wc = PMI(w, c) - log k."""
    check_scalar("sgns_optimum", "k", k, above=0)
    return pmi(X) - np.log(k)


# -- PMI ----------------------------------------------------------------------------------------------------


def _counts(X, fn: str) -> np.ndarray:
    X = _arr(X, "X", fn, 2)
    if np.any(X < 0) or np.any(~np.isfinite(X)):
        raise ValueError(f"{fn}: X must hold non-negative finite counts")
    if not np.any(X > 0):
        raise ValueError(f"{fn}: X has no positive count")
    return X


def pmi(X):
    """PMI(w, c) = log P(w, c) / (P(w) P(c)) from a co-occurrence count matrix X (words x contexts);
    -inf where X = 0 (words never seen together). A word or context with no count at all: ValueError."""
    X = _counts(X, "pmi")
    row, col = X.sum(axis=1), X.sum(axis=0)
    if np.any(row == 0) or np.any(col == 0):
        raise ValueError("pmi: every word and context needs a positive count (P(w) = 0 makes PMI undefined)")
    with np.errstate(divide="ignore"):
        return np.log(X) + np.log(X.sum()) - np.log(row)[:, None] - np.log(col)[None, :]


def ppmi(X):
    """Positive PMI: max(PMI(w, c), 0); zero counts give 0."""
    return np.maximum(pmi(X), 0.0)


# -- GloVe ---------------------------------------------------------------------------------------------------


def cooccurrence_matrix(sentences, V, window, weighting="count"):
    """GloVe's X: X[i, j] += 1 (``weighting='count'``) or 1/distance (``'harmonic'``, GloVe's own) for every
    word j within ``window`` positions of word i in the same sentence; symmetric by construction. (V, V)."""
    if weighting not in ("count", "harmonic"):
        raise ValueError(f"cooccurrence_matrix: weighting must be 'count' or 'harmonic', got {weighting!r}")
    window = window_radius(window)
    V = check_scalar("cooccurrence_matrix", "V", V, low=1, integer=True)
    X = np.zeros((int(V), int(V)))
    for s in sentences:
        ids = _ids(s, int(V), "sentences", "cooccurrence_matrix")
        for t in range(len(ids)):
            for k in window_positions(len(ids), t, window):
                X[ids[t], ids[k]] += 1.0 if weighting == "count" else 1.0 / abs(k - t)
    return X


def check_glove_weight_params(fn, x_max, alpha):
    """x_max: a finite number > 0 (the count where the weight reaches 1); alpha: a finite number > 0
    (shared by the NumPy and PyTorch forms). x_max = 0 would give 0/0 = NaN for a zero count."""
    for name, val in (("x_max", x_max), ("alpha", alpha)):
        try:
            ok = not isinstance(val, (bool, str)) and np.ndim(val) == 0 and np.isfinite(float(val)) and float(val) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{fn}: {name} must be > 0 (a finite number), got {val!r}")


def glove_weight(x, x_max=100.0, alpha=0.75):
    """f(x) = (x / x_max)^alpha for x < x_max, else 1 (and f(0) = 0)."""
    x = _arr(x, "x", "glove_weight")
    check_glove_weight_params("glove_weight", x_max, alpha)
    if np.any(x < 0):
        raise ValueError("glove_weight: x must be non-negative counts")
    return np.minimum((x / x_max) ** alpha, 1.0)


def glove_loss(W, W_tilde, b, b_tilde, X, x_max=100.0, alpha=0.75):
    """J = sum over nonzero X_ij of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2."""
    W, Wt = _arr(W, "W", "glove_loss", 2), _arr(W_tilde, "W_tilde", "glove_loss", 2)
    b, bt = _arr(b, "b", "glove_loss", 1), _arr(b_tilde, "b_tilde", "glove_loss", 1)
    X = _counts(X, "glove_loss")
    nz = X > 0
    logX = np.log(np.where(nz, X, 1.0))
    r = W @ Wt.T + b[:, None] + bt[None, :] - logX
    return float(np.sum(np.where(nz, glove_weight(X, x_max, alpha) * r ** 2, 0.0)))


# -- FastText -------------------------------------------------------------------------------------------------


def character_ngrams(word, minn=3, maxn=6):
    """The character n-grams of ``<word>`` for n = minn..maxn (by length, then position), as FastText
    and gensim's ``compute_ngrams`` list them; ``<word>`` itself is one of them when it is at most maxn long.
    As in FastText (dictionary.cc), the lone boundary symbols ``<`` and ``>`` are not 1-grams."""
    if not isinstance(word, str) or not word:
        raise ValueError(f"character_ngrams: word must be a non-empty string, got {word!r}")
    if not 1 <= minn <= maxn:
        raise ValueError(f"character_ngrams: need 1 <= minn <= maxn, got minn={minn}, maxn={maxn}")
    w = f"<{word}>"
    return [w[i:i + n] for n in range(minn, min(len(w), maxn) + 1) for i in range(len(w) - n + 1)
            if not (n == 1 and w[i] in "<>" and i in (0, len(w) - 1))]


def fasttext_hash(ngram):
    """FastText's FNV-1a variant (32-bit): h = 2166136261; for each UTF-8 byte, h ^= the byte *as a signed
    char* (bytes >= 0x80 are sign-extended), h *= 16777619 (mod 2^32)."""
    h = 2166136261
    for byte in ngram.encode("utf-8"):
        h ^= (byte - 256 if byte >= 128 else byte) & 0xFFFFFFFF
        h = (h * 16777619) & 0xFFFFFFFF
    return h


def check_buckets(fn, buckets):
    """The bucket table needs at least one row: every n-gram hashes to hash % buckets."""
    if buckets < 1:
        raise ValueError(f"{fn}: Z has {buckets} buckets (rows); expected at least one (n-grams hash to hash % buckets)")


def fasttext_word_vector(word, Z, minn=3, maxn=6):
    """v_word = sum of z_g over its character n-grams g, each hashed into a row of the bucket table Z (buckets, d)."""
    Z = _arr(Z, "Z", "fasttext_word_vector", 2)
    check_buckets("fasttext_word_vector", Z.shape[0])
    rows = [fasttext_hash(g) % Z.shape[0] for g in character_ngrams(word, minn, maxn)]
    return Z[rows].sum(axis=0)


# -- gradients over the whole embedding tables --------------------------------------------------------
#
# The training step of word2vec updates rows of two (V, d) tables: W_in (input vectors v_w) and W_out
# (output vectors v'_w). These functions return the gradient of one example's log-likelihood L (the
# page's objective, maximised) with respect to *every* entry of both tables, as two full (V, d) arrays:
# the rows of the words the example does not involve are exactly zero, and a word that occurs several
# times (a repeated context word, a negative drawn twice) gets its gradient once per occurrence.


def table_word_ids(ids, V: int, name: str, fn: str, *, allow_empty: bool = False) -> list[int]:
    """One word id or a sequence of them as a list of ints in 0..V-1 (shared by the three forms).

    A non-integer id (1.5, a nested list) or an empty sequence (unless ``allow_empty``) is a ValueError
    naming ``name`` and ``fn``."""
    if hasattr(ids, "tolist") and not isinstance(ids, (list, tuple)):
        ids = ids.tolist()  # NumPy arrays and scalars, tensors, SymPy Arrays
    seq = list(ids) if isinstance(ids, (list, tuple)) else [ids]
    out = []
    for w in seq:
        try:
            ok = not isinstance(w, (bool, np.bool_, list, tuple, str)) and int(w) == w
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise ValueError(f"{fn}: {name} must hold integer word ids, got {w!r}")
        out.append(int(w))
    if not out and not allow_empty:
        raise ValueError(f"{fn}: {name} is empty; expected at least one word id")
    return check_word_ids(out, V, name, fn)


def one_word_id(w, V: int, name: str, fn: str) -> int:
    """A single word id in 0..V-1 (shared by the three forms); a sequence is a ValueError naming ``name``."""
    if isinstance(w, (list, tuple)) or (hasattr(w, "ndim") and w.ndim != 0) or (hasattr(w, "rank") and callable(w.rank)):
        raise ValueError(f"{fn}: {name} must be one word id, got {w!r}")
    return table_word_ids(w, V, name, fn)[0]


def check_tables(fn: str, shape_in: tuple, shape_out: tuple) -> None:
    """W_in and W_out: 2-D tables (rows = words) with the same embedding dimension d."""
    for name, shape in (("W_in", shape_in), ("W_out", shape_out)):
        if len(shape) != 2:
            raise ValueError(f"{fn}: {name} must be a 2-D (V, d) table, got shape {tuple(shape)}")
    if shape_in[1] != shape_out[1]:
        raise ValueError(f"{fn}: W_in and W_out must have the same embedding dimension d, got shapes "
                         f"{tuple(shape_in)} and {tuple(shape_out)}")


def _tables(W_in, W_out, fn: str) -> tuple[np.ndarray, np.ndarray]:
    W_in, W_out = _arr(W_in, "W_in", fn), _arr(W_out, "W_out", fn)
    check_tables(fn, W_in.shape, W_out.shape)
    for x, name in ((W_in, "W_in"), (W_out, "W_out")):
        if np.isinf(x).any():
            raise ValueError(f"{fn}: {name} has an infinite entry; expected finite embeddings")
    return W_in, W_out


def skipgram_table_gradients(W_in, W_out, centre, context):
    """(dL/dW_in, dL/dW_out) for L = sum_{o in context} log P(o | centre), P the skip-gram softmax.

    The gradient of the log-likelihood L (the page's objective, maximised), not of the loss -L.
    W_in, W_out: (V, d) input and output tables; centre: one word id; context: one word id or a sequence
    (the words in the centre's window; a word that occurs twice counts twice). With p = softmax(W_out v_centre)
    and n_w the number of times w occurs in the context, r_w = n_w - |context| p_w:
    row ``centre`` of dL/dW_in is sum_w r_w v'_w (every other row 0), and row w of dL/dW_out is r_w v_centre.
    """
    fn = "skipgram_table_gradients"
    W_in, W_out = _tables(W_in, W_out, fn)
    c = one_word_id(centre, W_in.shape[0], "centre", fn)
    ctx = table_word_ids(context, W_out.shape[0], "context", fn)
    v = W_in[c]
    p = np.exp(_log_softmax(W_out @ v))
    r = np.bincount(ctx, minlength=W_out.shape[0]) - len(ctx) * p
    G_in = np.zeros_like(W_in)
    G_in[c] = r @ W_out
    return G_in, np.outer(r, v)


def negative_sampling_table_gradients(W_in, W_out, centre, context, negatives):
    """(dL/dW_in, dL/dW_out) for L = log sigma(v'_o . v_c) + sum_i log sigma(-v'_{n_i} . v_c).

    The gradient of the objective (maximised), not of the loss. centre c and context o: one word id each;
    negatives: the k sampled ids (a sequence, possibly empty; a word drawn twice counts twice). With
    r_o = sigma(-v'_o . v_c) and r_{n_i} = -sigma(v'_{n_i} . v_c), summed per word:
    row c of dL/dW_in is sum_w r_w v'_w (every other row 0); row w of dL/dW_out is r_w v_c (0 for the
    words that are neither the context word nor a negative).
    """
    fn = "negative_sampling_table_gradients"
    W_in, W_out = _tables(W_in, W_out, fn)
    c = one_word_id(centre, W_in.shape[0], "centre", fn)
    o = one_word_id(context, W_out.shape[0], "context", fn)
    neg = table_word_ids(negatives, W_out.shape[0], "negatives", fn, allow_empty=True)
    v = W_in[c]
    r = np.zeros(W_out.shape[0])
    r[o] += np.exp(_log_sigmoid(-(W_out[o] @ v)))
    np.add.at(r, neg, -np.exp(_log_sigmoid(W_out[neg] @ v)))
    G_in = np.zeros_like(W_in)
    G_in[c] = r @ W_out
    return G_in, np.outer(r, v)


def cbow_table_gradients(W_in, W_out, centre, context):
    """(dL/dW_in, dL/dW_out) for L = log P(centre | h), h = the mean of the context words' input vectors.

    The gradient of the log-likelihood (maximised), not of the loss. centre: one word id (the word
    predicted); context: one id or a sequence (a word that occurs twice counts twice, in h and in its row).
    With p = softmax(W_out h) and r = e_centre - p: row w of dL/dW_out is r_w h; row j of
    dL/dW_in is (n_j / |context|) sum_w r_w v'_w, n_j the occurrences of j in the context (0 elsewhere).
    """
    fn = "cbow_table_gradients"
    W_in, W_out = _tables(W_in, W_out, fn)
    o = one_word_id(centre, W_out.shape[0], "centre", fn)
    ctx = table_word_ids(context, W_in.shape[0], "context", fn)
    h = W_in[ctx].mean(axis=0)
    r = -np.exp(_log_softmax(W_out @ h))
    r[o] += 1.0
    share = np.bincount(ctx, minlength=W_in.shape[0]) / len(ctx)
    return np.outer(share, r @ W_out), np.outer(r, h)
