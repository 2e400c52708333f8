"""Gradients over the whole embedding tables (word_embeddings.md, derived): skip-gram with the full softmax,
negative sampling and CBOW, as one word2vec training step applies them to W_in (rows v_w) and W_out (rows v'_w).

The generic checks (the three forms agree, pinned inputs with repeated words and saturated scores, refused
inputs, known student mistakes with their hints) come from lmverify/registry/embeddings.py. Here: each closed
form equals torch autograd of the log-likelihood over both whole tables, and central finite differences in
float64; it is sympy.diff of the log-likelihood over tables of symbols; only the rows of the words involved are
non-zero; repeated words add up; and the student mistakes that only repeated words expose are caught on drawn
inputs, not only on the pinned ones.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from lmverify import strategies as S
from lmverify.registry.embeddings import repeated_words, word2vec_tables
from lmverify.tolerance import tolerance_for

MISTAKES_DIR = Path(__file__).parent / "data" / "students" / "mistakes" / "embeddings"

SKIPGRAM = "embeddings.skipgram_table_gradient"
NEGATIVE = "embeddings.negative_sampling_table_gradient"
CBOW = "embeddings.cbow_table_gradient"


# ---------------------------------------------------------------- the log-likelihoods, written out once


def _skipgram_loglik(W_in, W_out, centre, context, xp):
    """sum_{o in context} log P(o | centre) (xp: numpy or torch)."""
    logp = (torch.log_softmax(W_out @ W_in[centre], 0) if xp is torch
            else _np_log_softmax(W_out @ W_in[centre]))
    return sum(logp[o] for o in context)


def _negative_loglik(W_in, W_out, centre, context, negatives, xp):
    """log sigma(v'_o . v_c) + sum_i log sigma(-v'_{n_i} . v_c)."""
    v = W_in[centre]
    ls = F.logsigmoid if xp is torch else (lambda x: -np.logaddexp(0.0, -x))
    return ls(W_out[context] @ v) + sum(ls(-(W_out[n] @ v)) for n in negatives)


def _cbow_loglik(W_in, W_out, centre, context, xp):
    """log P(centre | h), h the mean of the context rows."""
    h = sum(W_in[j] for j in context) / len(context)
    logp = torch.log_softmax(W_out @ h, 0) if xp is torch else _np_log_softmax(W_out @ h)
    return logp[centre]


def _np_log_softmax(z):
    m = np.max(z)
    return z - m - np.log(np.sum(np.exp(z - m)))


LOGLIK = {SKIPGRAM: _skipgram_loglik, NEGATIVE: _negative_loglik, CBOW: _cbow_loglik}


@st.composite
def _example(draw, equation: str) -> dict:
    """Tables and word ids for ``equation`` (the registry's table entries; repeated words drawn on purpose)."""
    W_in, W_out = draw(word2vec_tables())
    V = W_in.shape[0]
    kw = {"W_in": W_in, "W_out": W_out, "centre": draw(st.integers(0, V - 1), label="centre")}
    if equation == NEGATIVE:
        kw["context"] = draw(st.integers(0, V - 1), label="context")
        kw["negatives"] = draw(repeated_words(V, max_len=3, allow_empty=True), label="negatives")
    else:
        kw["context"] = draw(repeated_words(V, max_len=4), label="context")
    return kw


def _ids(kw: dict) -> dict:
    return {k: v for k, v in kw.items() if k not in ("W_in", "W_out")}


EQUATIONS = [pytest.param(SKIPGRAM, id="skipgram_table_gradients"),
             pytest.param(NEGATIVE, id="negative_sampling_table_gradients"),
             pytest.param(CBOW, id="cbow_table_gradients")]


# ---------------------------------------------------------------- autograd over the whole tables


def _autograd(equation: str, kw: dict) -> tuple[np.ndarray, np.ndarray]:
    W_in = torch.tensor(kw["W_in"], dtype=torch.float64, requires_grad=True)
    W_out = torch.tensor(kw["W_out"], dtype=torch.float64, requires_grad=True)
    LOGLIK[equation](W_in, W_out, **_ids(kw), xp=torch).backward()
    return W_in.grad.numpy(), W_out.grad.numpy()


def _check_against_autograd(check, equation: str, kw: dict) -> None:
    G_in, G_out = check.call(**kw)
    A_in, A_out = _autograd(equation, kw)
    check.close(G_in, A_in, what="dL/dW_in (the whole table)", expected_from="torch autograd of L (float64)")
    check.close(G_out, A_out, what="dL/dW_out (the whole table)", expected_from="torch autograd of L (float64)")


@pytest.mark.oracle
@pytest.mark.equation("embeddings.skipgram_table_gradient")
@S.budget(0.5)
@given(data=st.data())
def test_skipgram_table_gradient_equals_autograd_over_the_whole_tables(check, data):
    _check_against_autograd(check, SKIPGRAM, data.draw(_example(SKIPGRAM), label="inputs"))


@pytest.mark.oracle
@pytest.mark.equation("embeddings.negative_sampling_table_gradient")
@S.budget(0.5)
@given(data=st.data())
def test_negative_sampling_table_gradient_equals_autograd_over_the_whole_tables(check, data):
    _check_against_autograd(check, NEGATIVE, data.draw(_example(NEGATIVE), label="inputs"))


@pytest.mark.oracle
@pytest.mark.equation("embeddings.cbow_table_gradient")
@S.budget(0.5)
@given(data=st.data())
def test_cbow_table_gradient_equals_autograd_over_the_whole_tables(check, data):
    _check_against_autograd(check, CBOW, data.draw(_example(CBOW), label="inputs"))


# ---------------------------------------------------------------- central finite differences (float64)

#: the step of the central differences. On tables with entries in [-1, 1] and at most 4 context words, the
#: truncation error h^2 / 6 |L'''| (|L'''| <= 4 |C| max|v|^3 d^3 < 500) stays below 1e-8 and the rounding error
#: 2 eps |L| / (2 h) (|L| < 30) below 1e-9: both well inside the float64 tolerance (1e-7, 1e-7)
FD_STEP = 2.0 ** -14


def _finite_differences(equation: str, kw: dict) -> tuple[np.ndarray, np.ndarray]:
    out = []
    for name in ("W_in", "W_out"):
        T = kw[name]
        G = np.zeros_like(T)
        for idx in np.ndindex(T.shape):
            vals = []
            for step in (FD_STEP, -FD_STEP):
                moved = T.copy()
                moved[idx] += step
                vals.append(float(LOGLIK[equation](**dict(kw, **{name: moved}), xp=np)))
            G[idx] = (vals[0] - vals[1]) / (2 * FD_STEP)
        out.append(G)
    return out[0], out[1]


@pytest.mark.numeric
@pytest.mark.parametrize("equation", EQUATIONS)
@S.budget(0.25)
@given(data=st.data())
def test_table_gradients_equal_central_finite_differences(numeric_backend, equation, data):
    """Every entry of both tables moved by +-h: (L(+h) - L(-h)) / 2h equals the gradient (NumPy log-likelihood)."""
    from lmverify.check import Check

    check = Check(equation, numeric_backend)
    kw = data.draw(_example(equation), label="inputs")
    G_in, G_out = check.call(**kw)
    D_in, D_out = _finite_differences(equation, kw)
    tol = check.tol if numeric_backend.dtype == "float32" else tolerance_for("float64")
    check.close(G_in, D_in, tol=tol, what="dL/dW_in", expected_from=f"central differences, h = {FD_STEP:g} (float64)")
    check.close(G_out, D_out, tol=tol, what="dL/dW_out", expected_from=f"central differences, h = {FD_STEP:g} (float64)")


# ---------------------------------------------------------------- only the rows of the words involved


def _rows_outside(rows: set[int], V: int) -> list[int]:
    return [w for w in range(V) if w not in rows]


@pytest.mark.equation("embeddings.skipgram_table_gradient")
@S.budget(0.25)
@given(data=st.data())
def test_skipgram_table_gradient_touches_only_the_centre_row_of_W_in(check, data):
    """dL/dW_in is zero, exactly, on every row but the centre word's (W_out's softmax touches every row)."""
    kw = data.draw(_example(SKIPGRAM), label="inputs")
    G_in, _ = check.call(**kw)
    others = _rows_outside({kw["centre"]}, G_in.shape[0])
    check.exactly(G_in[others], np.zeros((len(others), G_in.shape[1])), what=f"rows {others} of dL/dW_in",
                  expected_from="0: only the centre word's input vector is used")


@pytest.mark.equation("embeddings.negative_sampling_table_gradient")
@S.budget(0.25)
@given(data=st.data())
def test_negative_sampling_table_gradient_touches_only_the_rows_of_the_words_involved(check, data):
    """dL/dW_in is zero but on the centre's row, dL/dW_out zero but on the context word's and the negatives' rows."""
    kw = data.draw(_example(NEGATIVE), label="inputs")
    G_in, G_out = check.call(**kw)
    others_in = _rows_outside({kw["centre"]}, G_in.shape[0])
    others_out = _rows_outside({kw["context"], *kw["negatives"]}, G_out.shape[0])
    check.exactly(G_in[others_in], np.zeros((len(others_in), G_in.shape[1])), what=f"rows {others_in} of dL/dW_in",
                  expected_from="0: only the centre word's input vector is used")
    check.exactly(G_out[others_out], np.zeros((len(others_out), G_out.shape[1])),
                  what=f"rows {others_out} of dL/dW_out", expected_from="0: neither the context word nor a negative")


@pytest.mark.equation("embeddings.cbow_table_gradient")
@S.budget(0.25)
@given(data=st.data())
def test_cbow_table_gradient_touches_only_the_context_rows_of_W_in(check, data):
    kw = data.draw(_example(CBOW), label="inputs")
    G_in, _ = check.call(**kw)
    others = _rows_outside(set(kw["context"]), G_in.shape[0])
    check.exactly(G_in[others], np.zeros((len(others), G_in.shape[1])), what=f"rows {others} of dL/dW_in",
                  expected_from="0: only the context words' input vectors are averaged into h")


# ---------------------------------------------------------------- repeated words add up


@pytest.mark.equation("embeddings.skipgram_table_gradient")
@S.budget(0.25)
@given(data=st.data())
def test_skipgram_table_gradient_of_a_window_is_the_sum_over_its_words(check, data):
    """L is a sum over the window, so its gradient is the sum of the one-word gradients: a word that occurs
    twice counts twice."""
    kw = data.draw(_example(SKIPGRAM), label="inputs")
    G_in, G_out = check.call(**kw)
    parts = [check.call(**dict(kw, context=[o])) for o in kw["context"]]
    check.inputs = kw
    check.close(G_in, sum(p[0] for p in parts), what="dL/dW_in of the window", expected_from="the sum over its words")
    check.close(G_out, sum(p[1] for p in parts), what="dL/dW_out of the window", expected_from="the sum over its words")


@pytest.mark.equation("embeddings.negative_sampling_table_gradient")
@S.budget(0.25)
@given(data=st.data())
def test_negative_sampling_table_gradient_adds_each_draw_of_a_negative(check, data):
    """Each negative adds its own term: the gradient with k negatives is the one with none plus, per draw,
    (gradient with that negative alone - gradient with none); a word drawn twice adds twice."""
    kw = data.draw(_example(NEGATIVE), label="inputs")
    G = check.call(**kw)
    none = check.call(**dict(kw, negatives=[]))
    singles = [check.call(**dict(kw, negatives=[n])) for n in kw["negatives"]]
    check.inputs = kw
    for i, what in enumerate(("dL/dW_in", "dL/dW_out")):
        check.close(G[i], none[i] + sum(s[i] - none[i] for s in singles), what=what,
                    expected_from="no negatives plus each draw's own term")


@pytest.mark.equation("embeddings.cbow_table_gradient")
@S.budget(0.25)
@given(data=st.data())
def test_cbow_table_gradient_of_a_doubled_window_is_unchanged(check, data):
    """Repeating the whole window leaves h (an average) unchanged, so both gradients are unchanged: each
    occurrence then gets half as much, and each word occurs twice as often. A repeated word counted once
    halves its row; a gradient not divided by |C| doubles it."""
    kw = data.draw(_example(CBOW), label="inputs")
    G_in, G_out = check.call(**kw)
    D_in, D_out = check.call(**dict(kw, context=kw["context"] * 2))
    check.inputs = kw
    check.close(D_in, G_in, what="dL/dW_in with the window twice", expected_from="dL/dW_in with the window once")
    check.close(D_out, G_out, what="dL/dW_out with the window twice", expected_from="dL/dW_out with the window once")


# ---------------------------------------------------------------- SymPy: the closed forms are the derivatives


def _symbol_table(name: str, V: int, d: int) -> sp.Matrix:
    return sp.Matrix(V, d, lambda i, j: sp.Symbol(f"{name}_{i}_{j}", real=True))


def _sympy_loglik(equation: str, A: sp.Matrix, B: sp.Matrix, kw: dict):
    def log_softmax_at(scores: list, i: int):
        return scores[i] - sp.log(sp.Add(*[sp.exp(s) for s in scores]))

    def dot(u, v):
        return sp.Add(*[a * b for a, b in zip(u, v)])

    rows_in, rows_out = [list(A.row(i)) for i in range(A.rows)], [list(B.row(i)) for i in range(B.rows)]
    if equation == SKIPGRAM:
        v = rows_in[kw["centre"]]
        return sp.Add(*[log_softmax_at([dot(r, v) for r in rows_out], o) for o in kw["context"]])
    if equation == NEGATIVE:
        v = rows_in[kw["centre"]]
        ls = lambda x: -sp.log(1 + sp.exp(-x))  # noqa: E731
        return ls(dot(rows_out[kw["context"]], v)) + sp.Add(*[ls(-dot(rows_out[n], v)) for n in kw["negatives"]])
    h = [sp.Add(*[rows_in[j][i] for j in kw["context"]]) / len(kw["context"]) for i in range(A.cols)]
    return log_softmax_at([dot(r, h) for r in rows_out], kw["centre"])


SYMBOLIC_CASES = [
    pytest.param(SKIPGRAM, {"centre": 0, "context": [1, 1, 0]}, id="skipgram-repeated-context-and-the-centre"),
    pytest.param(NEGATIVE, {"centre": 1, "context": 0, "negatives": [2, 2, 0]}, id="negative-sampling-repeats"),
    pytest.param(CBOW, {"centre": 0, "context": [2, 2, 1]}, id="cbow-repeated-context"),
]


@pytest.mark.symbolic
@pytest.mark.equation("embeddings.skipgram_table_gradient", "embeddings.negative_sampling_table_gradient",
                      "embeddings.cbow_table_gradient")
@pytest.mark.parametrize("equation, ids", SYMBOLIC_CASES)
def test_table_gradients_are_sympy_diff_of_the_log_likelihood(equation, ids):
    """Over 3 x 1 tables of symbols, every entry of the SymPy closed form equals sympy.diff of the log-likelihood
    (a zero entry of the closed form is an entry L does not depend on)."""
    import specs.embeddings as spec

    A, B = _symbol_table("a", 3, 1), _symbol_table("b", 3, 1)
    fn = {SKIPGRAM: spec.skipgram_table_gradients, NEGATIVE: spec.negative_sampling_table_gradients,
          CBOW: spec.cbow_table_gradients}[equation]
    G = fn(A, B, **ids)
    L = _sympy_loglik(equation, A, B, ids)
    for table, closed in zip((A, B), G):
        for i in range(table.rows):
            for j in range(table.cols):
                diff = sp.diff(L, table[i, j]) - closed[i, j]
                assert _is_zero(diff), (equation, ids, f"entry {i},{j}", diff)


def _is_zero(expr) -> bool:
    """Exactly zero: a rational function of the exponentials (cancelled), or, failing that, sympy.simplify's."""
    e = expr.rewrite(sp.exp)
    return sp.cancel(sp.together(sp.powsimp(sp.expand(e)))) == 0 or sp.simplify(e) == 0


@pytest.mark.symbolic
@pytest.mark.equation("embeddings.skipgram_table_gradient")
def test_skipgram_table_gradient_of_one_context_word_is_skipgram_gradient_placed_in_the_tables():
    """With one context word o, row centre of dL/dW_in is the catalogued skipgram_gradient's d/dv_I, and
    dL/dW_out its d/dE_out (exact, on the page's output vectors and v_king)."""
    import specs.embeddings as spec

    W_out = sp.Matrix([[sp.Rational(1, 2), sp.Rational(1, 10)], [sp.Rational(2, 5), sp.Rational(1, 5)],
                       [sp.Rational(1, 10), 0]])
    W_in = sp.Matrix([[1, 0], [0, 1], [sp.Rational(1, 2), -sp.Rational(1, 2)]])
    G_in, G_out = spec.skipgram_table_gradients(W_in, W_out, 0, [1])
    g_in, g_out = spec.skipgram_gradient(sp.Array([1, 0]), W_out, 1)
    assert all(sp.simplify(G_in[0, i] - g_in[i]) == 0 for i in range(2))
    assert all(G_in[r, i] == 0 for r in (1, 2) for i in range(2))
    assert sp.simplify(G_out - g_out) == sp.zeros(3, 2)


# ---------------------------------------------------------------- mistakes caught on drawn inputs too


@pytest.mark.parametrize("module, equation", [
    ("skipgram_table_gradients__context_rows.py", SKIPGRAM),
    ("skipgram_table_gradients__repeated_context_word_counted_once.py", SKIPGRAM),
    ("negative_sampling_table_gradients__repeated_negative_counted_once.py", NEGATIVE),
    ("cbow_table_gradients__repeated_context_word_counted_once.py", CBOW),
    ("cbow_table_gradients__1_c_forgotten.py", CBOW),
    ("_correct.py", SKIPGRAM),
    ("_correct.py", NEGATIVE),
    ("_correct.py", CBOW),
])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_table_gradient_mistakes_are_caught_on_drawn_inputs(module, equation):
    """The drawn inputs (test_matches_oracle's strategy) catch the wrong-row and the repeated-word mistakes by
    themselves, without the pinned inputs (the strategy draws windows with repeated words), and pass the
    correct module."""
    from lmverify.students_check import check_equation

    outcomes = check_equation(MISTAKES_DIR / module, equation, drawn=15, pinned=False, shrink=False)
    expected = "passed" if module == "_correct.py" else "failed"
    assert [o.status for o in outcomes] == [expected], f"{module}: {outcomes}"
