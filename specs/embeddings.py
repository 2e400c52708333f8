"""Word embeddings, SymPy symbolic forms (course page: word_embeddings.md).

The definitions, exact on rational inputs (a float converts to its exact binary Rational):
a vector is a ``sympy.Array`` / list, an embedding table a ``sympy.Matrix`` (row w = word w).
Same names, parameters and conventions as ``reference.numpy.embeddings`` (see its docstring).
The string functions of FastText (n-grams, the FNV-1a hash) and the Huffman construction are
written here as definitions (set-builder order, bit arithmetic on the bytes), independently of
the NumPy module.

Derivations the page states or implies, proven here with symbols (tests/test_embeddings*.py):

* :func:`hierarchical_softmax_sum_proof`: the leaf probabilities of a complete binary tree of
  depth 2 or 3 sum to one for every input vector (sigma(x) + sigma(-x) = 1 at each node);
* :func:`sgns_stationary_point`: Levy & Goldberg - setting the derivative of the per-pair
  SGNS objective to zero gives v'_c . v_w = PMI(w, c) - log k, and it is a maximum;
* :func:`skipgram_gradient`: the closed-form gradients, checked against ``sympy.diff``.
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from reference.numpy.embeddings import check_word_ids, window_positions, window_radius

# -- conversion ------------------------------------------------------------------------------


def _num(v):
    """A plain number as an exact SymPy number (a float becomes its exact binary Rational)."""
    if isinstance(v, sp.Basic):
        return v
    if isinstance(v, float):
        return sp.Rational(v) if v == v and abs(v) != float("inf") else sp.sympify(v)
    if hasattr(v, "item"):  # NumPy scalar
        return _num(v.item())
    return sp.sympify(v)


def _vec(x) -> list:
    if hasattr(x, "tolist") and not isinstance(x, (sp.Basic, sp.MatrixBase, sp.NDimArray)):  # NumPy / torch
        x = x.tolist()
        if not isinstance(x, list):
            return [_num(x)]
        return [_num(v) for v in _flatten(x)]
    if isinstance(x, sp.MatrixBase):
        return list(x)
    if isinstance(x, sp.NDimArray):
        return [sp.sympify(v) for v in sp.flatten(x.tolist())] if x.rank() > 0 else [x[()]]
    if isinstance(x, (list, tuple)):
        return [_num(v) for v in x]
    return [_num(x)]


def _flatten(x):
    for v in x:
        if isinstance(v, list):
            yield from _flatten(v)
        else:
            yield v


def _rows(x) -> list[list]:
    if hasattr(x, "tolist") and not isinstance(x, (sp.Basic, sp.MatrixBase, sp.NDimArray)):  # NumPy / torch
        return [[_num(v) for v in r] for r in x.tolist()]
    if isinstance(x, sp.MatrixBase):
        return [list(x.row(i)) for i in range(x.rows)]
    if isinstance(x, sp.NDimArray):
        return [[sp.sympify(v) for v in r] for r in x.tolist()]
    return [[_num(v) for v in r] for r in x]


def _check_nan(values: list, name: str, fn: str) -> None:
    if any(v is sp.nan for v in values):
        raise ValueError(f"{fn}: {name} contains NaN")


def _dot(u: list, v: list):
    return sp.Add(*[a * b for a, b in zip(u, v)])


def _sigmoid(x):
    return 1 / (1 + sp.exp(-x))


def _ids(words, V: int, name: str, fn: str) -> list[int]:
    if isinstance(words, (sp.MatrixBase, sp.NDimArray)):
        words = _vec(words)
    out = [int(w) for w in (words if isinstance(words, (list, tuple)) else [words])]
    return check_word_ids(out, V, name, fn)




def _log_softmax_entry(scores: list, i: int):
    return scores[i] - sp.log(sp.Add(*[sp.exp(s) for s in scores]))


# -- one-hot and cosine ------------------------------------------------------------------------------


def one_hot(index, V):
    """e_w: the Array with 1 at ``index`` and 0 elsewhere."""
    if int(V) != V or V < 1:
        raise ValueError(f"one_hot: V must be an integer >= 1, got {V!r}")
    if int(index) != index or not 0 <= index < V:
        raise ValueError(f"one_hot: index {index!r} is outside 0..{int(V) - 1}")
    return sp.Array([sp.KroneckerDelta(int(index), i) for i in range(int(V))])


def _cos(u: list, v: list):
    nu, nv = _dot(u, u), _dot(v, v)
    for n, name in ((nu, "u"), (nv, "v")):
        if n == 0:
            raise ValueError(f"cosine_similarity: {name} is a zero vector (it has no direction)")
    return _dot(u, v) / (sp.sqrt(nu) * sp.sqrt(nv))


def cosine_similarity(u, v):
    """u . v / (||u|| ||v||); a Matrix is a batch of rows (one cosine per row)."""
    if isinstance(u, sp.MatrixBase) or isinstance(v, sp.MatrixBase):
        U = _rows(u) if isinstance(u, sp.MatrixBase) else None
        W = _rows(v) if isinstance(v, sp.MatrixBase) else None
        n = len(U) if U is not None else len(W)
        U = U or [_vec(u)] * n
        W = W or [_vec(v)] * n
        return sp.Array([_cos_checked(a, b) for a, b in zip(U, W)])
    return _cos_checked(_vec(u), _vec(v))


def _cos_checked(u: list, v: list):
    _check_nan(u, "u", "cosine_similarity")
    _check_nan(v, "v", "cosine_similarity")
    if len(u) != len(v):
        raise ValueError(f"cosine_similarity: u and v must have the same last dimension, got {len(u)} and {len(v)}")
    return _cos(u, v)


def analogy(E, a, b, c):
    """(q, scores, w*): q = v_a - v_b + v_c, scores[w] = cos(q, v_w) (-oo for a, b, c), w* = argmax
    (lowest index among ties, compared exactly)."""
    rows = _rows(E)
    V = len(rows)
    a, b, c = _ids([a, b, c], V, "(a, b, c)", "analogy")
    if V <= len({a, b, c}):
        raise ValueError(f"analogy: no candidate word is left once {sorted({a, b, c})} are excluded (V = {V})")
    q = [x - y + z for x, y, z in zip(rows[a], rows[b], rows[c])]
    if all(x == 0 for x in q):
        raise ValueError("analogy: q = v_a - v_b + v_c is a zero vector (it has no direction)")
    scores = [(-sp.oo if w in (a, b, c) else _cos(q, rows[w])) for w in range(V)]
    winner = None
    for w in range(V):
        if w in (a, b, c):
            continue
        if winner is None:
            winner = w
            continue
        d = sp.N(scores[w] - scores[winner], 50)
        if d > sp.Float("1e-40", 50) or (d > 0 and not (scores[w] - scores[winner]).equals(0)):
            winner = w
    return sp.Array(q), sp.Array(scores), winner


# -- CBOW and skip-gram -------------------------------------------------------------------------------


def cbow_context(E, words, c):
    """h_t = (1 / |N(t)|) sum_{k in N(t)} v_{w_k}, N(t) the positions within c of t (the page's 2c inside)."""
    rows = _rows(E)
    ids = _ids(words, len(rows), "words", "cbow_context")
    c = window_radius(c)
    if len(ids) < 2:
        raise ValueError("cbow_context: a sentence of one word has no context")
    out = []
    for t in range(len(ids)):
        nb = window_positions(len(ids), t, c)
        out.append([sp.Add(*[rows[ids[k]][i] for k in nb]) / len(nb) for i in range(len(rows[0]))])
    return sp.Matrix(out)


def cbow_log_likelihood(E_in, E_out, words, c):
    """sum_t log softmax(E_out h_t)[w_t]."""
    out_rows = _rows(E_out)
    ids = _ids(words, len(out_rows), "words", "cbow_log_likelihood")
    H = _rows(cbow_context(E_in, ids, c))
    return sp.Add(*[_log_softmax_entry([_dot(r, H[t]) for r in out_rows], ids[t]) for t in range(len(ids))])


def skipgram_pairs(words, c):
    """The (center, context) pairs: {(w_t, w_{t+j}) : 0 < |j| <= c, 0 <= t + j < T}, in the order of the sum."""
    ids = [int(w) for w in (_vec(words) if isinstance(words, (sp.MatrixBase, sp.NDimArray)) else list(words))]
    c = window_radius(c)
    T = len(ids)
    return [[ids[t], ids[t + j]] for t in range(T) for j in range(-c, c + 1) if j != 0 and 0 <= t + j < T]


def skipgram_softmax(v_I, E_out):
    """P(w_O | w_I) = exp(v'_O . v_I) / sum_w exp(v'_w . v_I) for every w_O; a Matrix v_I is a batch of rows."""
    out_rows = _rows(E_out)

    def one(v):
        _check_nan(v, "v_I", "skipgram_softmax")
        e = [sp.exp(_dot(r, v)) for r in out_rows]
        z = sp.Add(*e)
        return [x / z for x in e]

    if isinstance(v_I, sp.MatrixBase):
        return sp.Matrix([one(r) for r in _rows(v_I)])
    return sp.Array(one(_vec(v_I)))


def skipgram_gradient(v_I, E_out, o):
    """(v'_o - sum_w p_w v'_w, (1[w = o] - p_w) v_I row by row): the gradient of log P(o | w_I)."""
    v = _vec(v_I)
    out_rows = _rows(E_out)
    (o,) = _ids([o], len(out_rows), "o", "skipgram_gradient")
    p = list(skipgram_softmax(sp.Array(v), E_out))
    g_in = [out_rows[o][i] - sp.Add(*[p[w] * out_rows[w][i] for w in range(len(out_rows))]) for i in range(len(v))]
    g_out = [[((1 if w == o else 0) - p[w]) * v[i] for i in range(len(v))] for w in range(len(out_rows))]
    return sp.Array(g_in), sp.Matrix(g_out)


def skipgram_log_likelihood(E_in, E_out, words, c):
    """sum_t sum_{0 < |j| <= c} log P(w_{t+j} | w_t)."""
    in_rows, out_rows = _rows(E_in), _rows(E_out)
    _ids(words, min(len(in_rows), len(out_rows)), "words", "skipgram_log_likelihood")
    total = sp.Integer(0)
    for center, context in skipgram_pairs(words, c):
        total += _log_softmax_entry([_dot(r, in_rows[center]) for r in out_rows], context)
    return total


# -- hierarchical softmax ------------------------------------------------------------------------------


def huffman_tree(counts):
    """Huffman codes by the definition: keep a list of (count, creation order, node); merge the two
    smallest (the smaller one is the left child, code 0); read each leaf's path from the root."""
    counts = [sp.nsimplify(x) for x in _vec(counts)]
    if not counts or any(x < 0 for x in counts):
        raise ValueError(f"huffman_tree: counts must be a non-empty list of non-negative numbers, got {counts}")
    V = len(counts)
    pool = [(counts[i], i) for i in range(V)]
    children = {}
    for i in range(V - 1):
        pool.sort()
        (x1, n1), (x2, n2) = pool[0], pool[1]
        pool = pool[2:] + [(x1 + x2, V + i)]
        children[V + i] = (n1, n2)
    codes, points = [[] for _ in range(V)], [[] for _ in range(V)]

    def walk(node, code, point):
        if node < V:
            codes[node], points[node] = code, point
            return
        left, right = children[node]
        walk(left, code + [0], point + [node - V])
        walk(right, code + [1], point + [node - V])

    walk(pool[0][1], [], [])
    return codes, points


def hierarchical_softmax(v_I, node_vectors, codes, points):
    """P(w | w_I) = prod_j sigma((1 - 2 code_j) v'_{point_j} . v_I) for each word."""
    v = _vec(v_I)
    _check_nan(v, "v_I", "hierarchical_softmax")
    N = _rows(node_vectors)
    if len(codes) != len(points):
        raise ValueError(f"hierarchical_softmax: codes and points must have one entry per word "
                         f"({len(codes)} != {len(points)})")
    out = []
    for w, (code, point) in enumerate(zip(codes, points)):
        if len(code) != len(point):
            raise ValueError(f"hierarchical_softmax: word {w} has {len(code)} code bits but {len(point)} points")
        out.append(sp.Mul(*[_sigmoid((1 - 2 * int(b)) * _dot(N[int(n)], v)) for b, n in zip(code, point)]))
    return sp.Array(out)


@lru_cache(maxsize=None)
def hierarchical_softmax_sum_proof(depth: int) -> bool:
    """For a complete binary tree of the given depth with symbolic node scores x_n (= v'_n . v_I, any
    input vector), the leaf probabilities prod sigma(+-x) sum to exactly one."""
    n_inner = 2 ** depth - 1
    x = sp.symbols(f"x0:{n_inner}", real=True)
    total = sp.Integer(0)
    for leaf in range(2 ** depth):
        bits = [(leaf >> (depth - 1 - j)) & 1 for j in range(depth)]
        node, term = 0, sp.Integer(1)
        for bit in bits:  # heap numbering: children of n are 2n + 1 (code 0) and 2n + 2 (code 1)
            term *= _sigmoid((1 - 2 * bit) * x[node])
            node = 2 * node + 1 + bit
        total += term
    return sp.simplify(total.rewrite(sp.exp) - 1) == 0


# -- negative sampling ----------------------------------------------------------------------------------


def unigram_noise(counts, power=0.75):
    """count^power / sum count^power (power 3/4 exactly when given 0.75)."""
    counts = _vec(counts)
    if any(x < 0 for x in counts) or not any(x > 0 for x in counts):
        raise ValueError("unigram_noise: counts must be non-negative with at least one positive count")
    power = sp.nsimplify(power)
    w = [x ** power for x in counts]
    z = sp.Add(*w)
    return sp.Array([x / z for x in w])


def negative_sampling_objective(v_I, v_O, V_neg):
    """log sigma(v'_O . v_I) + sum_i log sigma(-v'_i . v_I)."""
    v, vo = _vec(v_I), _vec(v_O)
    _check_nan(v, "v_I", "negative_sampling_objective")
    return sp.log(_sigmoid(_dot(vo, v))) + sp.Add(*[sp.log(_sigmoid(-_dot(r, v))) for r in _rows(V_neg)])


def negative_sampling_expected(v_I, v_O, E_out, noise, k):
    """log sigma(v'_O . v_I) + k sum_w P_n(w) log sigma(-v'_w . v_I)."""
    v, vo, pn = _vec(v_I), _vec(v_O), _vec(noise)
    return sp.log(_sigmoid(_dot(vo, v))) + k * sp.Add(
        *[p * sp.log(_sigmoid(-_dot(r, v))) for p, r in zip(pn, _rows(E_out))])


def sgns_objective(S, X, k):
    """sum_{w,c} #(w,c) log sigma(S_wc) + k #(w) #(c) / |D| log sigma(-S_wc)."""
    S, X = _rows(S), _counts(X, "sgns_objective")
    N = sp.Add(*[sp.Add(*r) for r in X])
    row = [sp.Add(*r) for r in X]
    col = [sp.Add(*[X[i][j] for i in range(len(X))]) for j in range(len(X[0]))]
    return sp.Add(*[X[i][j] * sp.log(_sigmoid(S[i][j])) + k * row[i] * col[j] / N * sp.log(_sigmoid(-S[i][j]))
                    for i in range(len(X)) for j in range(len(X[0]))])


def sgns_optimum(X, k):
    """PMI(w, c) - log k."""
    P = pmi(X)
    return P.applyfunc(lambda v: v - sp.log(sp.nsimplify(k)))


@lru_cache(maxsize=None)
def sgns_stationary_point():
    """Levy & Goldberg: the per-pair objective l(x) = n_wc log sigma(x) + k n_w n_c / N log sigma(-x).
    Returns (solutions of dl/dx = 0, the second derivative there, PMI - log k) with positive symbols."""
    x = sp.Symbol("x", real=True)
    n_wc, n_w, n_c, N, k = sp.symbols("n_wc n_w n_c N k", positive=True)
    ell = n_wc * sp.log(_sigmoid(x)) + k * n_w * n_c / N * sp.log(_sigmoid(-x))
    d = sp.simplify(sp.diff(ell, x))
    # dl/dx = n_wc sigma(-x) - k n_w n_c / N sigma(x): solve in y = e^x (> 0)
    y = sp.Symbol("y", positive=True)
    sols = sp.solve(sp.simplify(d.subs(x, sp.log(y))), y)
    xs = [sp.log(s) for s in sols]
    target = sp.log(n_wc * N / (n_w * n_c)) - sp.log(k)
    second = [sp.simplify(sp.diff(ell, x, 2).subs(x, s)) for s in xs]
    return xs, second, target


# -- PMI ----------------------------------------------------------------------------------------------------


def _counts(X, fn: str) -> list[list]:
    rows = _rows(X)
    flat = [v for r in rows for v in r]
    _check_nan(flat, "X", fn)
    if any(v < 0 or v.is_infinite for v in flat):
        raise ValueError(f"{fn}: X must hold non-negative finite counts")
    if not any(v > 0 for v in flat):
        raise ValueError(f"{fn}: X has no positive count")
    return rows


def pmi(X):
    """log (X_wc N) / (X_w. X_.c) exactly; -oo for a zero count."""
    rows = _counts(X, "pmi")
    N = sp.Add(*[sp.Add(*r) for r in rows])
    row = [sp.Add(*r) for r in rows]
    col = [sp.Add(*[rows[i][j] for i in range(len(rows))]) for j in range(len(rows[0]))]
    if any(v == 0 for v in row + col):
        raise ValueError("pmi: every word and context needs a positive count (P(w) = 0 makes PMI undefined)")
    return sp.Matrix(len(rows), len(col), lambda i, j: -sp.oo if rows[i][j] == 0
                     else sp.log((rows[i][j] / N) / ((row[i] / N) * (col[j] / N))))


def ppmi(X):
    """max(PMI, 0)."""
    return pmi(X).applyfunc(lambda v: sp.Integer(0) if v == -sp.oo else sp.Max(v, 0))


# -- GloVe ---------------------------------------------------------------------------------------------------


def cooccurrence_matrix(sentences, V, window, weighting="count"):
    """X_ij = sum over positions of word i of [word j at distance d, 0 < d <= window] (times 1/d if 'harmonic')."""
    if weighting not in ("count", "harmonic"):
        raise ValueError(f"cooccurrence_matrix: weighting must be 'count' or 'harmonic', got {weighting!r}")
    window = window_radius(window)
    V = int(V)
    X = sp.zeros(V, V)
    for s in sentences:
        ids = _ids(list(s), V, "sentences", "cooccurrence_matrix")
        for t in range(len(ids)):
            for d in range(1, window + 1):
                for k in (t - d, t + d):
                    if 0 <= k < len(ids):
                        X[ids[t], ids[k]] += 1 if weighting == "count" else sp.Rational(1, d)
    return X


def glove_weight(x, x_max=100.0, alpha=0.75):
    """f(x) = (x / x_max)^alpha if x < x_max else 1 (exact: alpha = 3/4 when given 0.75)."""
    xm, a = sp.nsimplify(x_max), sp.nsimplify(alpha)

    def f(v):
        if v < 0:
            raise ValueError("glove_weight: x must be non-negative counts")
        return sp.Integer(1) if v >= xm else (v / xm) ** a

    if isinstance(x, sp.MatrixBase):
        return x.applyfunc(f)
    if isinstance(x, sp.NDimArray):
        return x.applyfunc(f)
    return f(sp.sympify(x))


def glove_loss(W, W_tilde, b, b_tilde, X, x_max=100.0, alpha=0.75):
    """J = sum_{X_ij > 0} f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2."""
    W, Wt, b, bt = _rows(W), _rows(W_tilde), _vec(b), _vec(b_tilde)
    X = _counts(X, "glove_loss")
    total = sp.Integer(0)
    for i in range(len(X)):
        for j in range(len(X[0])):
            if X[i][j] != 0:
                r = _dot(W[i], Wt[j]) + b[i] + bt[j] - sp.log(X[i][j])
                total += glove_weight(X[i][j], x_max, alpha) * r ** 2
    return total


# -- FastText -------------------------------------------------------------------------------------------------


def character_ngrams(word, minn=3, maxn=6):
    """{ <word>[i : i + n] : minn <= n <= maxn }, listed by n then i; no lone '<' or '>' 1-gram."""
    if not isinstance(word, str) or not word:
        raise ValueError(f"character_ngrams: word must be a non-empty string, got {word!r}")
    if not 1 <= minn <= maxn:
        raise ValueError(f"character_ngrams: need 1 <= minn <= maxn, got minn={minn}, maxn={maxn}")
    s = "<" + word + ">"
    out = []
    for n in range(minn, maxn + 1):
        for i in range(0, len(s) - n + 1):
            g = s[i:i + n]
            if g not in ("<", ">") or 0 < i < len(s) - 1:
                out.append(g)
    return out


def fasttext_hash(ngram):
    """h_0 = 2166136261; h_{i+1} = ((h_i XOR signext(byte_i)) * 16777619) mod 2^32 over the UTF-8 bytes."""
    h = sp.Integer(2166136261)
    for byte in ngram.encode("utf-8"):
        signed = byte if byte < 128 else byte - 256
        h = sp.Integer((int(h) ^ (signed % 2 ** 32)) * 16777619 % 2 ** 32)
    return int(h)


def fasttext_word_vector(word, Z, minn=3, maxn=6):
    """sum over the word's n-grams g of row (hash(g) mod buckets) of Z."""
    rows = _rows(Z)
    out = [sp.Integer(0)] * len(rows[0])
    for g in character_ngrams(word, minn, maxn):
        r = rows[fasttext_hash(g) % len(rows)]
        out = [a + b for a, b in zip(out, r)]
    return sp.Array(out)


# -- gradients over the whole embedding tables ------------------------------------------------------------
# The closed forms, entry by entry (tests/test_embeddings_gradients.py proves them equal to sympy.diff of
# the log-likelihood over tables of symbols): every entry of both tables, zero rows included.


def _tables(W_in, W_out, fn: str) -> tuple[list[list], list[list]]:
    from reference.numpy.embeddings import check_tables

    A, B = _rows(W_in), _rows(W_out)
    for rows, name in ((A, "W_in"), (B, "W_out")):
        flat = [v for r in rows for v in r]
        _check_nan(flat, name, fn)
        if any(v.is_infinite for v in flat):
            raise ValueError(f"{fn}: {name} has an infinite entry; expected finite embeddings")
    check_tables(fn, (len(A), len(A[0]) if A else 0), (len(B), len(B[0]) if B else 0))
    return A, B


def _word_ids(ids, V: int, name: str, fn: str, *, one: bool = False, allow_empty: bool = False):
    from reference.numpy.embeddings import one_word_id, table_word_ids

    if isinstance(ids, (sp.MatrixBase, sp.NDimArray)):
        if one:
            raise ValueError(f"{fn}: {name} must be one word id, got {ids!r}")
        ids = _vec(ids)
    return one_word_id(ids, V, name, fn) if one else table_word_ids(ids, V, name, fn, allow_empty=allow_empty)


def _table_result(rows_in: list[list], rows_out: list[list]):
    return sp.Matrix(rows_in), sp.Matrix(rows_out)


def skipgram_table_gradients(W_in, W_out, centre, context):
    """L = sum_{o in context} log P(o | centre): dL/dv_centre = sum_w (n_w - |C| p_w) v'_w (other rows of W_in 0),
    dL/dv'_w = (n_w - |C| p_w) v_centre, with p_w = exp(v'_w . v_centre) / sum_u exp(v'_u . v_centre)."""
    fn = "skipgram_table_gradients"
    A, B = _tables(W_in, W_out, fn)
    c = _word_ids(centre, len(A), "centre", fn, one=True)
    ctx = _word_ids(context, len(B), "context", fn)
    v, d = A[c], len(A[0])
    e = [sp.exp(_dot(row, v)) for row in B]
    z = sp.Add(*e)
    r = [ctx.count(w) - len(ctx) * e[w] / z for w in range(len(B))]
    G_in = [[sp.Integer(0)] * d for _ in A]
    G_in[c] = [sp.Add(*[r[w] * B[w][i] for w in range(len(B))]) for i in range(d)]
    return _table_result(G_in, [[r[w] * v[i] for i in range(d)] for w in range(len(B))])


def negative_sampling_table_gradients(W_in, W_out, centre, context, negatives):
    """L = log sigma(v'_o . v_c) + sum_i log sigma(-v'_{n_i} . v_c): r_w = 1[w = o] sigma(-v'_o . v_c)
    - #{i : n_i = w} sigma(v'_w . v_c); dL/dv_c = sum_w r_w v'_w (other rows of W_in 0), dL/dv'_w = r_w v_c."""
    fn = "negative_sampling_table_gradients"
    A, B = _tables(W_in, W_out, fn)
    c = _word_ids(centre, len(A), "centre", fn, one=True)
    o = _word_ids(context, len(B), "context", fn, one=True)
    neg = _word_ids(negatives, len(B), "negatives", fn, allow_empty=True)
    v, d = A[c], len(A[0])
    r = [(_sigmoid(-_dot(B[o], v)) if w == o else sp.Integer(0)) - neg.count(w) * _sigmoid(_dot(B[w], v))
         for w in range(len(B))]
    G_in = [[sp.Integer(0)] * d for _ in A]
    G_in[c] = [sp.Add(*[r[w] * B[w][i] for w in range(len(B))]) for i in range(d)]
    return _table_result(G_in, [[r[w] * v[i] for i in range(d)] for w in range(len(B))])


def cbow_table_gradients(W_in, W_out, centre, context):
    """L = log P(centre | h), h = (1/|C|) sum_{j in context} v_j: r_w = 1[w = centre] - p_w (p = softmax of
    v'_w . h); dL/dv'_w = r_w h; dL/dv_j = (n_j / |C|) sum_w r_w v'_w (0 for words not in the context)."""
    fn = "cbow_table_gradients"
    A, B = _tables(W_in, W_out, fn)
    o = _word_ids(centre, len(B), "centre", fn, one=True)
    ctx = _word_ids(context, len(A), "context", fn)
    d = len(A[0])
    h = [sp.Add(*[A[j][i] for j in ctx]) / len(ctx) for i in range(d)]
    e = [sp.exp(_dot(row, h)) for row in B]
    z = sp.Add(*e)
    r = [(1 if w == o else 0) - e[w] / z for w in range(len(B))]
    g_h = [sp.Add(*[r[w] * B[w][i] for w in range(len(B))]) for i in range(d)]
    G_in = [[sp.Rational(ctx.count(j), len(ctx)) * g_h[i] for i in range(d)] for j in range(len(A))]
    return _table_result(G_in, [[r[w] * h[i] for i in range(d)] for w in range(len(B))])
