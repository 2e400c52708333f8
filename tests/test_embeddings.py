"""Word embeddings (word_embeddings.md): one-hot, cosine, analogies, CBOW, skip-gram, hierarchical softmax,
negative sampling. The generic checks (agreement of the three forms, pinned extremes, errors, mistakes,
autograd against SymPy) come from lmverify/registry/embeddings.py; here are the laws particular to one
equation, the SymPy proofs and the oracles (gensim, SciPy, torch).

PMI, GloVe and the Levy & Goldberg optimum are in tests/test_embeddings_pmi_glove.py; FastText in
tests/test_embeddings_fasttext.py; the page's list claims and code block in tests/test_embeddings_worked.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import assume, given
from hypothesis import strategies as st

from lmverify import strategies as S
from lmverify.backends import Backend
from lmverify.registry.embeddings import (
    ANALOGY_MISTAKES,
    embedding_tables,
    huffman_setups,
    nonzero_vectors,
    sentences_of_ids,
    word_counts,
)
from lmverify.tolerance import tolerance_for

T = "embeddings"


# ---------------------------------------------------------------- one-hot


@pytest.mark.equation("embeddings.one_hot")
@S.budget(0.25)
@given(data=st.data())
def test_one_hot_distinct_words_orthogonal_unit_norm_cosine_zero(check, data):
    V = data.draw(st.integers(2, 12), label="V")
    a, b = data.draw(st.lists(st.integers(0, V - 1), min_size=2, max_size=2, unique=True), label="a, b")
    ua, ub = check.call(index=a, V=V), check.call(index=b, V=V)
    check.exactly(np.dot(ua, ub), 0.0, what="u_a . u_b", expected_from="orthogonality of distinct one-hot vectors")
    check.exactly(np.array([np.dot(ua, ua), np.dot(ub, ub)]), np.ones(2), what="||u||^2",
                  expected_from="unit norm")
    check.exactly(check.call("cosine_similarity", u=ua, v=ub), 0.0, what="cos(u_a, u_b)",
                  expected_from="zero for any distinct pair")


@pytest.mark.equation("embeddings.one_hot")
@S.budget(0.25)
@given(data=st.data())
def test_one_hot_selects_the_embedding_row(check, data):
    E = data.draw(embedding_tables(exact=check.exact), label="E")
    w = data.draw(st.integers(0, E.shape[0] - 1), label="w")
    e = check.call(index=w, V=E.shape[0])
    check.close(e @ E, E[w], what="e_w^T E", expected_from="row w of E (an embedding lookup)")


@pytest.mark.symbolic
@pytest.mark.equation("embeddings.one_hot")
def test_one_hot_orthogonality_for_symbolic_positions():
    """For a vocabulary of any size V and a position 0 <= a < V: sum_i [i = a][i = b] = [a = b] (zero for
    distinct words) and sum_i [i = a]^2 = 1."""
    i, a, b = sp.symbols("i a b", integer=True)
    V = sp.Symbol("V", integer=True, positive=True)
    inside = {(a >= 0) & (a <= V - 1): True}
    dot = sp.Sum(sp.KroneckerDelta(i, a) * sp.KroneckerDelta(i, b), (i, 0, V - 1)).doit()
    norm = sp.Sum(sp.KroneckerDelta(i, a) ** 2, (i, 0, V - 1)).doit()
    assert isinstance(dot, sp.Piecewise) and dot.args[0] == (sp.KroneckerDelta(a, b), (a >= 0) & (a <= V - 1))
    assert isinstance(norm, sp.Piecewise) and norm.args[0] == (1, (a >= 0) & (a <= V - 1))
    assert sp.KroneckerDelta(a, b).subs(b, a + 1) == 0, "distinct words: the dot product is zero"
    assert inside


# ---------------------------------------------------------------- cosine similarity


def _vectors(d, exact):
    return nonzero_vectors(d, exact)


@pytest.mark.equation("embeddings.cosine_similarity")
@S.budget(0.25)
@given(data=st.data())
def test_cosine_scale_invariant_and_symmetric(check, data):
    d = data.draw(S.dims(4), label="d")
    u, v = data.draw(_vectors(d, check.exact), label="u"), data.draw(_vectors(d, check.exact), label="v")
    alpha, beta = (data.draw(st.sampled_from([0.25, 0.5, 2.0, 8.0]), label=n) for n in ("alpha", "beta"))
    c = check.call(u=u, v=v)
    check.close(check.call(u=alpha * u, v=beta * v), c, what="cos(alpha u, beta v)", expected_from="cos(u, v)")
    check.close(check.call(u=v, v=u), c, what="cos(v, u)", expected_from="cos(u, v)")
    check.law((c >= -1 - check.tol.atol) & (c <= 1 + check.tol.atol), "-1 <= cos <= 1", got=c)


@pytest.mark.equation("embeddings.cosine_similarity")
@S.budget(0.25)
@given(data=st.data())
def test_cosine_parallel_is_one_opposite_is_minus_one(check, data):
    d = data.draw(S.dims(4), label="d")
    u = data.draw(_vectors(d, check.exact), label="u")
    check.close(check.call(u=u, v=4.0 * u), 1.0, what="cos(u, 4u)", expected_from="parallel vectors")
    check.close(check.call(u=u, v=-0.5 * u), -1.0, what="cos(u, -u/2)", expected_from="opposite vectors")


@pytest.mark.equation("embeddings.cosine_similarity")
@pytest.mark.parametrize("form", ["sympy", "numpy", "torch64", "torch32"])
def test_cosine_zero_vector_raises_never_nan(form):
    """A zero vector has no direction: a ValueError naming it, also inside a batch, never a silent NaN."""
    b = Backend(form)
    with pytest.raises(ValueError, match="u is a zero vector"):
        b.call(T, "cosine_similarity", np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[1.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="v is a zero vector"):
        b.call(T, "cosine_similarity", np.array([3.0, 4.0]), np.array([0.0, -0.0]))


@pytest.mark.oracle
@pytest.mark.equation("embeddings.cosine_similarity")
@S.budget(0.25)
@given(data=st.data())
def test_cosine_matches_scipy_and_torch(numeric_backend, data):
    from scipy.spatial.distance import cosine as scipy_cosine  # here: 0.26 s of every collection of this file

    d = data.draw(S.dims(5), label="d")
    u, v = data.draw(_vectors(d, False), label="u"), data.draw(_vectors(d, False), label="v")
    b = numeric_backend
    tol = b.tolerance("embeddings.cosine_similarity")
    got = float(b.call(T, "cosine_similarity", u, v))
    for expected, source in ((1.0 - scipy_cosine(u, v), "1 - scipy.spatial.distance.cosine"),
                             (F.cosine_similarity(torch.tensor(u)[None], torch.tensor(v)[None]).item(),
                              "torch.nn.functional.cosine_similarity")):
        assert tol.allows(got, expected), (
            f"embeddings.cosine_similarity on {b.label}: got {got!r}, {source} gives {expected!r}; u={u!r}, v={v!r}")


# ---------------------------------------------------------------- analogies


@pytest.mark.equation("embeddings.analogy")
@S.budget(0.25)
@given(data=st.data())
def test_analogy_query_words_never_win(check, data):
    from lmverify.registry.embeddings import EQUATIONS

    entry = next(e for e in EQUATIONS if e.id == "embeddings.analogy")
    kw = data.draw(entry.inputs(exact=True), label="inputs")
    q, scores, winner = check.backend.run(T, "analogy", **kw)
    scores = np.asarray(check.backend.to_numpy(scores), dtype=np.float64)
    winner = int(winner)
    check.law(winner not in (kw["a"], kw["b"], kw["c"]), "w* is not one of the three query words", got=winner)
    check.law(np.all(np.isneginf(scores[[kw["a"], kw["b"], kw["c"]]])), "the query words score -inf", got=scores)
    check.law(np.all(scores[winner] >= scores - check.tol.atol), "w* has the largest cosine", got=scores)


@pytest.mark.equation("embeddings.analogy")
def test_analogy_closest_query_word_still_excluded(check):
    """king itself is closer to q than any candidate here, and must still not win."""
    E = np.array([[3.0, 0.1], [1.0, 1.0], [0.5, 0.6], [0.0, 1.0], [1.0, -1.0]])
    q, scores, winner = check.call(E=E, a=0, b=1, c=2)
    cos_king = float(check.reference("cosine_similarity", u=q, v=E[0]))
    check.law(cos_king > np.max(scores[3:]), "this table is a real test: king is closer to q than the candidates",
              got=(cos_king, scores))
    check.law(int(winner) in (3, 4), "w* is a candidate, not king", got=winner)


@pytest.mark.equation("embeddings.analogy")
def test_analogy_ties_go_to_the_lowest_index(check):
    E = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0], [2.0, 0.0], [1.0, 0.0], [4.0, 0.0]])
    _, scores, winner = check.call(E=E, a=0, b=1, c=2)
    check.exactly(scores[3:], np.ones(3), what="cosines of three parallel candidates", expected_from="a three-way tie")
    check.exactly(int(winner), 3, what="w*", expected_from="the documented rule: the lowest index wins a tie")


@pytest.mark.equation("embeddings.analogy")
def test_analogy_known_mistakes_are_caught():
    ref = Backend("numpy")
    E = np.array([[2.0, 0.0], [1.0, 0.0], [1.0, 1.0], [2.0, 1.0], [0.0, 2.0], [-1.0, 1.0]])
    q, scores, winner = ref.call(T, "analogy", E, 0, 1, 2)
    for hint, fn in ANALOGY_MISTAKES.items():
        wq, wscores, wwinner = fn(E, 0, 1, 2)
        same = np.allclose(wq, q) and np.array_equal(np.isinf(wscores), np.isinf(scores)) and wwinner == winner
        assert not same, f"the mistake ({hint}) gives the reference's answer on this table"


def _keyed_vectors(E):
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=E.shape[1])
    kv.add_vectors([f"w{i}" for i in range(E.shape[0])], E.astype(np.float32))
    return kv


@pytest.mark.oracle
@pytest.mark.equation("embeddings.analogy")
@S.budget(0.25)
@given(E=embedding_tables(min_vocab=4, max_vocab=6, max_dim=3, exact=True), data=st.data())
def test_analogy_matches_gensim_most_similar_on_unit_vectors(E, data):
    """On unit-norm tables gensim's mean of normalised vectors is q / 3 up to length: the same cosines and winner."""
    E = E + (np.abs(E).sum(axis=1, keepdims=True) == 0) * 1.0
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    a, b, c = data.draw(st.permutations(range(E.shape[0])), label="order")[:3]
    assume(np.linalg.norm(E[a] - E[b] + E[c]) > 1e-3)
    q, scores, winner = Backend("numpy").call(T, "analogy", E, a, b, c)
    ranked = _keyed_vectors(E).most_similar(positive=[f"w{a}", f"w{c}"], negative=[f"w{b}"], topn=E.shape[0])
    tol = tolerance_for("float32")  # gensim stores float32 vectors
    for word, score in ranked:
        w = int(word[1:])
        assert tol.allows(score, scores[w]), (word, score, scores[w])
    top = max(s for _, s in ranked)
    tied = {int(wd[1:]) for wd, s in ranked if tol.allows(s, top)}  # ties within gensim's float32 rounding
    assert winner in tied, f"gensim ranks {ranked}; the reference's winner is w{winner} (scores {scores})"


@pytest.mark.oracle
@pytest.mark.equation("embeddings.analogy")
def test_analogy_gensim_normalisation_can_change_the_winner():
    """gensim normalises each vector before q = v_a - v_b + v_c; the page does not. With a long v_king the two
    rules pick different words (documented in docs/embeddings.md)."""
    E = np.array([[10.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.05], [0.05, 1.0]])  # king man woman x-ish y-ish
    _, _, winner = Backend("numpy").call(T, "analogy", E, 0, 1, 2)
    gensim_top = _keyed_vectors(E).most_similar(positive=["w0", "w2"], negative=["w1"], topn=1)[0][0]
    assert winner == 3 and gensim_top == "w4", (winner, gensim_top)
    unit = E / np.linalg.norm(E, axis=1, keepdims=True)
    _, _, winner_unit = Backend("numpy").call(T, "analogy", unit, 0, 1, 2)
    assert winner_unit == 4, "on normalised vectors the page's rule agrees with gensim"


# ---------------------------------------------------------------- CBOW


@pytest.mark.equation("embeddings.cbow_context")
@S.budget(0.25)
@given(data=st.data())
def test_cbow_context_interior_is_the_2c_average_and_edges_average_what_exists(check, data):
    E = data.draw(embedding_tables(exact=check.exact), label="E")
    words = data.draw(sentences_of_ids(E.shape[0], min_len=2, max_len=7), label="words")
    c = data.draw(st.integers(1, 3), label="c")
    H = check.call(E=E, words=words, c=c)
    T_ = len(words)
    for t in range(T_):
        nb = [t + j for j in range(-c, c + 1) if j != 0 and 0 <= t + j < T_]
        expected = sum(E[words[k]] for k in nb) / len(nb)
        where = "an interior position: (1/2c) sum" if len(nb) == 2 * c else f"an edge: mean of its {len(nb)} neighbours"
        check.close(H[t], expected, what=f"h_{t}", expected_from=where)


@pytest.mark.equation("embeddings.cbow_context")
@S.budget(0.25)
@given(data=st.data())
def test_cbow_context_is_a_bag_of_words(check, data):
    """Swapping the two neighbours of a middle word (c = 1) leaves h_t unchanged."""
    E = data.draw(embedding_tables(exact=check.exact), label="E")
    w = data.draw(sentences_of_ids(E.shape[0], min_len=3, max_len=3), label="words")
    h = check.call(E=E, words=w, c=1)[1]
    check.close(check.call(E=E, words=[w[2], w[1], w[0]], c=1)[1], h, what="h_1 of the mirrored sentence",
                expected_from="h_1")


@pytest.mark.equation("embeddings.cbow_objective")
@pytest.mark.numeric
@S.budget(0.25)
@given(data=st.data())
def test_cbow_objective_is_a_sum_of_log_softmax(check, data):
    V, d = data.draw(st.integers(1, 5), label="V"), data.draw(S.dims(3), label="d")
    E_in, E_out = (data.draw(S.arrays((V, d)), label=n) for n in ("E_in", "E_out"))
    words = data.draw(sentences_of_ids(V, min_len=2, max_len=6), label="words")
    c = data.draw(st.integers(1, 3), label="c")
    L = check.call(E_in=E_in, E_out=E_out, words=words, c=c)
    H = check.reference("cbow_context", E=E_in, words=words, c=c)
    expected = sum(torch.log_softmax(torch.tensor(E_out @ H[t]), 0)[words[t]].item() for t in range(len(words)))
    check.close(L, expected, what="sum_t log P(w_t | h_t)", expected_from="torch.log_softmax per position")
    check.law(L <= check.tol.atol, "a log-likelihood is <= 0", got=L)


# ---------------------------------------------------------------- skip-gram


def _expected_pairs(T_, c):
    return sum(min(t, c) + min(T_ - 1 - t, c) for t in range(T_))


@pytest.mark.equation("embeddings.skipgram_objective")
@S.budget(0.25)
@given(T_=st.integers(1, 12), c=st.integers(1, 5))
def test_skipgram_pairs_enumerated_exactly_edges_included(T_, c):
    """Distinct word ids expose positions: every (t, t+j), 0 < |j| <= c inside the sentence, once, with its mirror."""
    for form in ("sympy", "numpy", "torch64"):
        pairs = [tuple(map(int, p)) for p in Backend(form).fn(T, "skipgram_pairs")(list(range(T_)), c)]
        expected = [(t, t + j) for t in range(T_) for j in range(-c, c + 1) if j != 0 and 0 <= t + j < T_]
        assert pairs == expected, f"{form}: skipgram_pairs(range({T_}), c={c}) = {pairs}, expected {expected}"
        assert len(pairs) == _expected_pairs(T_, c)
        assert sorted(pairs) == sorted((b, a) for a, b in pairs), "every pair appears with its mirror"


def test_skipgram_pairs_at_the_edges_with_c_2():
    pairs = [tuple(map(int, p)) for p in Backend("numpy").fn(T, "skipgram_pairs")([10, 11, 12, 13, 14], 2)]
    assert pairs[:2] == [(10, 11), (10, 12)], "position 0 has only right neighbours"
    assert pairs[-2:] == [(14, 12), (14, 13)], "the last position has only left neighbours"
    assert len(pairs) == 14  # 2 + 3 + 4 + 3 + 2


@pytest.mark.equation("embeddings.skipgram_objective")
@pytest.mark.numeric
@S.budget(0.25)
@given(data=st.data())
def test_skipgram_objective_is_the_sum_over_pairs_of_log_p(check, data):
    V, d = data.draw(st.integers(1, 5), label="V"), data.draw(S.dims(3), label="d")
    E_in, E_out = (data.draw(S.arrays((V, d)), label=n) for n in ("E_in", "E_out"))
    words = data.draw(sentences_of_ids(V, max_len=7), label="words")
    c = data.draw(st.integers(1, 3), label="c")
    L = check.call(E_in=E_in, E_out=E_out, words=words, c=c)
    pairs = np.asarray(check.reference("skipgram_pairs", words=words, c=c), dtype=np.int64).reshape(-1, 2)
    expected = sum(math.log(check.reference("skipgram_softmax", v_I=E_in[i], E_out=E_out)[o]) for i, o in pairs)
    check.close(L, expected, what="L", expected_from="sum over the enumerated pairs of log skipgram_softmax")


@pytest.mark.equation("embeddings.skipgram_softmax")
@S.budget(0.25)
@given(data=st.data())
def test_skipgram_softmax_sums_to_one_and_is_torch_softmax(check, data):
    V, d = data.draw(st.integers(1, 5), label="V"), data.draw(S.dims(3), label="d")
    v_I = data.draw(S.arrays((d,), exact=check.exact), label="v_I")
    E_out = data.draw(S.arrays((V, d), exact=check.exact), label="E_out")
    p = check.call(v_I=v_I, E_out=E_out)
    check.close(p.sum(), 1.0, what="sum_w P(w | w_I)", expected_from="a distribution over the vocabulary")
    check.close(p, torch.softmax(torch.tensor(E_out @ v_I), 0).numpy(), what="P", expected_from="torch.softmax(scores)")


@pytest.mark.oracle
@pytest.mark.equation("embeddings.skipgram_gradient")
@S.budget(0.25)
@given(data=st.data())
def test_skipgram_gradient_equals_autograd(check, data):
    """d log P(w_O | w_I) / d v_I = v'_O - sum_w p_w v'_w, and d/dv'_w = (1[w = O] - p_w) v_I, against torch autograd."""
    V, d = data.draw(st.integers(1, 5), label="V"), data.draw(S.dims(3), label="d")
    v_I = data.draw(S.arrays((d,), exact=check.exact), label="v_I")
    E_out = data.draw(S.arrays((V, d), exact=check.exact), label="E_out")
    o = data.draw(st.integers(0, V - 1), label="o")
    g_in, g_out = check.call(v_I=v_I, E_out=E_out, o=o)
    tv, tE = torch.tensor(v_I, requires_grad=True), torch.tensor(E_out, requires_grad=True)
    torch.log_softmax(tE @ tv, 0)[o].backward()
    check.close(g_in, tv.grad.numpy(), what="d log P / d v_I", expected_from="torch autograd (float64)")
    check.close(g_out, tE.grad.numpy(), what="d log P / d v'_w (rows)", expected_from="torch autograd (float64)")


@pytest.mark.symbolic
@pytest.mark.equation("embeddings.skipgram_gradient")
def test_skipgram_gradient_is_sympy_diff_of_log_softmax():
    v = sp.symbols("v0:2", real=True)
    E = sp.Matrix(3, 2, sp.symbols("e0:6", real=True))
    import specs.embeddings as spec

    p = spec.skipgram_softmax(sp.Array(v), E)
    logp = sp.log(p[1])
    g_in, g_out = spec.skipgram_gradient(sp.Array(v), E, 1)
    for i in range(2):
        assert sp.simplify(sp.diff(logp, v[i]) - g_in[i]) == 0
    for w in range(3):
        for i in range(2):
            assert sp.simplify(sp.diff(logp, E[w, i]) - g_out[w, i]) == 0


# ---------------------------------------------------------------- hierarchical softmax


@pytest.mark.equation("embeddings.hierarchical_softmax")
@S.budget(0.25)
@given(data=st.data())
def test_hierarchical_softmax_leaves_sum_to_one(check, data):
    kw = data.draw(huffman_setups(exact=check.exact, max_vocab=5 if check.exact else 8), label="setup")
    p = check.call(**kw)
    check.close(p.sum(), 1.0, what="sum of the leaf probabilities", expected_from="one, for every input vector")
    check.law(np.all(p >= 0), "probabilities are non-negative", got=p)


@pytest.mark.symbolic
@pytest.mark.equation("embeddings.hierarchical_softmax")
@pytest.mark.parametrize("depth", [2, 3])
def test_hierarchical_softmax_sum_is_one_symbolically(depth):
    import specs.embeddings as spec

    assert spec.hierarchical_softmax_sum_proof(depth), f"leaf probabilities of a depth-{depth} tree do not sum to 1"


@pytest.mark.symbolic
@pytest.mark.equation("embeddings.hierarchical_softmax")
def test_hierarchical_softmax_symbolic_huffman_tree_sums_to_one():
    """The SymPy form itself, on a Huffman tree of 4 words with symbolic node vectors and input vector."""
    import specs.embeddings as spec

    codes, points = spec.huffman_tree([4, 1, 2, 3])
    v = sp.Array(sp.symbols("v0:2", real=True))
    N = sp.Matrix(3, 2, sp.symbols("n0:6", real=True))
    total = sum(spec.hierarchical_softmax(v, N, codes, points))
    assert sp.simplify(total.rewrite(sp.exp) - 1) == 0


def _huffman(form, counts):
    codes, points = Backend(form).fn(T, "huffman_tree")(np.asarray(counts, dtype=np.float64))
    return [list(map(int, c)) for c in codes], [list(map(int, p)) for p in points]


@pytest.mark.equation("embeddings.hierarchical_softmax_huffman")
@S.budget(0.25)
@given(counts=word_counts)
def test_hierarchical_softmax_huffman_code_laws(counts):
    """Prefix-free, Kraft equality, V - 1 inner nodes, frequent words never longer, within a bit of the entropy."""
    ref = _huffman("numpy", counts)
    for form in ("sympy", "torch64"):
        assert _huffman(form, counts) == ref, f"{form} builds another tree for counts {counts}"
    codes, points = ref
    V = len(counts)
    if V == 1:
        assert codes == [[]]
        return
    strings = ["".join(map(str, c)) for c in codes]
    assert not any(a != b and b.startswith(a) for a in strings for b in strings), f"not a prefix code: {strings}"
    assert sum(2.0 ** -len(c) for c in codes) == 1.0, "a full binary tree (Kraft equality)"
    assert {p for ps in points for p in ps} == set(range(V - 1)), "V - 1 inner nodes"
    for i in range(V):
        for j in range(V):
            if counts[i] > counts[j]:
                assert len(codes[i]) <= len(codes[j]), (
                    f"word {i} (count {counts[i]}) has a longer code than word {j} (count {counts[j]}): {codes}")
    p = counts / counts.sum()
    H = -float(np.sum(p * np.log2(p)))
    L = float(np.sum(p * np.array([len(c) for c in codes])))
    assert H - 1e-12 <= L < H + 1, f"expected code length {L} outside [H, H + 1) with H = {H}"


def _no_ties(counts) -> bool:
    pool = sorted(float(c) for c in counts)
    while len(pool) > 1:
        if pool[0] == pool[1] or (len(pool) > 2 and pool[1] == pool[2]):
            return False
        pool = sorted(pool[2:] + [pool[0] + pool[1]])
    return True


@pytest.mark.oracle
@pytest.mark.equation("embeddings.hierarchical_softmax_huffman")
@S.budget(0.25)
@given(counts=st.lists(st.integers(1, 200), min_size=2, max_size=9, unique=True))
def test_hierarchical_softmax_huffman_matches_gensim(counts):
    """gensim's _assign_binary_codes (word2vec.py) builds the same codes and points when no merge is tied
    (gensim's heap compares counts only, so it breaks ties by heap position; ours by creation order)."""
    from gensim.models import KeyedVectors
    from gensim.models.word2vec import _assign_binary_codes

    assume(_no_ties(counts))
    kv = KeyedVectors(vector_size=1)
    kv.add_vectors([f"w{i}" for i in range(len(counts))], np.zeros((len(counts), 1), dtype=np.float32))
    for i, c in enumerate(counts):
        kv.set_vecattr(i, "count", c)
    _assign_binary_codes(kv)
    codes, points = _huffman("numpy", counts)
    for i in range(len(counts)):
        assert list(map(int, kv.get_vecattr(i, "code"))) == codes[i], (i, counts)
        assert list(map(int, kv.get_vecattr(i, "point"))) == points[i], (i, counts)


@pytest.mark.oracle
@pytest.mark.equation("embeddings.hierarchical_softmax")
def test_hierarchical_softmax_follows_gensims_training_sign():
    """gensim trains code bit b at node n with gradient (1 - b - sigma(v'_n . v_I)): the target of sigma(x) is
    1 - b, so P(bit 0) = sigma(x), P(bit 1) = sigma(-x), as our product does. Read from word2vec_inner.pyx."""
    import inspect

    import gensim.models.word2vec_inner as inner

    path = inspect.getfile(inner).rsplit(".", 2)[0].rsplit("/", 1)[0] + "/word2vec_inner.pyx"
    src = open(path, encoding="utf-8").read()
    assert "(1 - word_code[b] - f) * alpha" in src


# ---------------------------------------------------------------- negative sampling


@pytest.mark.equation("embeddings.negative_sampling")
@pytest.mark.numeric
def test_negative_sampling_expected_is_the_mean_of_sampled_objectives(check):
    """The display's sum of k expectations equals the mean of the sampled objective (seeded Monte Carlo,
    within 4 standard errors)."""
    rng = np.random.default_rng(0)
    V, d, k, n = 6, 3, 3, 20000
    E_out, v_I, v_O = rng.normal(size=(V, d)), rng.normal(size=d), rng.normal(size=d)
    noise = check.reference("unigram_noise", counts=np.array([30.0, 12.0, 7.0, 5.0, 2.0, 1.0]))
    expected = float(check.call(v_I=v_I, v_O=v_O, E_out=E_out, noise=noise, k=k))
    draws = rng.choice(V, size=(n, k), p=noise)
    ls = -np.logaddexp(0.0, E_out @ v_I)  # log sigma(-v'_w . v_I) for every w
    samples = -np.logaddexp(0.0, -(v_O @ v_I)) + ls[draws].sum(axis=1)
    mean, se = samples.mean(), samples.std(ddof=1) / math.sqrt(n)
    check.law(abs(mean - expected) <= 4 * se, "the sampled mean is within 4 standard errors of the expectation",
              got=mean, expected=expected)
    one = check.reference("negative_sampling_objective", v_I=v_I, v_O=v_O, V_neg=E_out[draws[0]])
    check.close(samples[0], one, what="one sampled objective", expected_from="negative_sampling_objective")


@pytest.mark.oracle
@pytest.mark.equation("embeddings.negative_sampling_sampled")
@S.budget(0.25)
@given(data=st.data())
def test_negative_sampling_sampled_is_minus_bce_with_logits(check, data):
    d, k = data.draw(S.dims(3), label="d"), data.draw(st.integers(1, 4), label="k")
    v_I, v_O = data.draw(S.arrays((d,), exact=check.exact), label="v_I"), data.draw(S.arrays((d,), exact=check.exact), label="v_O")
    V_neg = data.draw(S.arrays((k, d), exact=check.exact), label="V_neg")
    got = check.call(v_I=v_I, v_O=v_O, V_neg=V_neg)
    logits = torch.tensor(np.concatenate([[v_O @ v_I], V_neg @ v_I]))
    targets = torch.tensor([1.0] + [0.0] * k, dtype=torch.float64)
    expected = -F.binary_cross_entropy_with_logits(logits, targets, reduction="sum").item()
    check.close(got, expected, what="the objective", expected_from="-BCEWithLogits(targets 1, 0, ..., 0)")
    check.law(got <= check.tol.atol, "the objective is a sum of log-probabilities (<= 0)", got=got)


@pytest.mark.equation("embeddings.negative_sampling_noise")
@S.budget(0.25)
@given(data=st.data())
def test_negative_sampling_noise_is_a_flattened_unigram(check, data):
    counts = data.draw(word_counts, label="counts")
    p = check.call(counts=counts)
    u = counts / counts.sum()
    check.close(p.sum(), 1.0, what="sum P_n", expected_from="a distribution")
    check.close(check.call(counts=counts, power=1.0), u, what="power 1", expected_from="the unigram distribution")
    check.close(check.call(counts=counts, power=0.0), np.full(len(counts), 1 / len(counts)), what="power 0",
                expected_from="the uniform distribution")
    tol = check.tol.atol
    # the unigram's extremes from the counts as the backend received them; P_n carries the backend's tolerance
    check.inputs = {"counts": counts}
    most, least = (check.bound(lambda counts: f(counts / counts.sum()), counts=counts, roundings=0,
                               tol=check.tol, what=f"{f.__name__} of the unigram distribution") for f in (np.max, np.min))
    check.within(p.max(), "flatter than the unigram: the most frequent word loses mass", upper=most, got=p)
    check.within(p.min(), "flatter than the unigram: the rarest word gains mass", lower=least, got=p)
    order = np.argsort(counts, kind="stable")
    check.law(np.all(np.diff(p[order]) >= -tol), "ranks are preserved", got=p)


@pytest.mark.oracle
@pytest.mark.equation("embeddings.negative_sampling_noise")
def test_negative_sampling_noise_matches_gensim_cum_table():
    """gensim's Word2Vec draws negatives from cum_table, the cumulative count^0.75 scaled to 2^31 - 1."""
    from gensim.models import Word2Vec

    sentences = [["a"] * 30 + ["b"] * 12 + ["c"] * 7 + ["d"] * 5 + ["e"] * 2 + ["f"]]
    model = Word2Vec(vector_size=4, min_count=1, negative=5, ns_exponent=0.75, sample=0, workers=1, seed=1)
    model.build_vocab(sentences)
    counts = np.array([model.wv.get_vecattr(w, "count") for w in model.wv.index_to_key], dtype=np.float64)
    p = Backend("numpy").call(T, "unigram_noise", counts)
    domain = 2 ** 31 - 1
    from_gensim = np.diff(np.concatenate([[0], model.cum_table])) / domain
    assert np.max(np.abs(from_gensim - p)) <= 2.0 / domain, (from_gensim, p)
