"""Equations compared up to form (lmverify/course/equations.py): a form-only edit of the course is the same
equation, a real change is reported in words, and every displayed catalogue equation is found in its page
(and in revision 7ce1f9e of the course, which doubles every backslash of its math)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmverify import catalogue
from lmverify.course.equations import (
    EquationMatch,
    compare,
    display_parts,
    locate_equation,
    normalise_latex,
    to_sympy,
)

PROJECT = Path(__file__).resolve().parent.parent
DISPLAYED = [eq for eq in catalogue.load() if eq["displayed"]]
REWORKED_PAGES = ("attention_math.md", "language_modeling_basics.md")  # the pages 7ce1f9e rewrote


def _displays(text: str) -> list[tuple[int, str]]:
    """A page's display math as (line of the opening delimiter, LaTeX): ``\\[ ... \\]``, and ``\\\\[ ... \\\\]``
    with every ``\\\\`` pair inside read as ``\\`` (a page that doubles its backslashes); fenced code is
    left out. For these tests only: the project feeds locate_equation from its page model."""
    text = re.sub(r"^([ \t]*)(```|~~~).*?^[ \t]*\2[^\n]*", lambda m: "\n" * m.group(0).count("\n"), text,
                  flags=re.S | re.M)
    found = []
    blanked = list(text)
    for m in re.finditer(r"(?<!\\)\\\\\[(.*?)\\\\\]", text, re.S):
        found.append((text.count("\n", 0, m.start()) + 1, m.group(1).replace("\\\\", "\\")))
        for k in range(m.start(), m.end()):
            if blanked[k] != "\n":
                blanked[k] = " "
    rest = "".join(blanked)
    for m in re.finditer(r"(?<!\\)\\\[(.*?)\\\]", rest, re.S):
        found.append((rest.count("\n", 0, m.start()) + 1, m.group(1)))
    return sorted(found)


def _page_displays(folder: Path, page: str) -> list[tuple[int, str]]:
    return _displays((folder / page).read_text(encoding="utf-8"))


# ----------------------------------------------------------------------------------------------------
# The test's own display reader
# ----------------------------------------------------------------------------------------------------


def test_displays_reads_single_and_doubled_delimiters_and_skips_code():
    page = "\n".join([
        r"Text \(x\) inline.",
        r"\[",
        r"a = b",
        r"\]",
        "```python",
        r"s = '\[ not math \]'",
        "```",
        r"\\[",
        r"\\frac{1}{2} \\\\ c",
        r"\\]",
    ])
    assert _displays(page) == [(2, "\na = b\n"), (8, "\n\\frac{1}{2} \\\\ c\n")]


# ----------------------------------------------------------------------------------------------------
# normalise_latex: one canonical form for form-only edits
# ----------------------------------------------------------------------------------------------------

CATALOGUE_SDPA = r"\text{Attention}(Q, K, V) = \text{softmax}\!\Bigl(\frac{QK^\top}{\sqrt{d_k}}\Bigr) V"

FORM_ONLY = [  # (page, catalogue): the same equation written differently
    (r"\text{softmax}\left(\frac{QK^\top}{\sqrt{d_k}}\right) V",
     r"\text{softmax}\!\Bigl(\frac{QK^\top}{\sqrt{d_k}}\Bigr) V"),
    (r"\mathrm{softmax}(\frac{QK^T}{\sqrt{d_k}})V",
     r"\operatorname{softmax}\bigl(\frac{QK^{\top}}{\sqrt{d_k}}\bigr)\,V"),
    (r"a\,b \; c\!d \: e \quad f \qquad g", "abcdefg"),
    (r"\dfrac{a}{b} + \tfrac{c}{d}", r"\frac{a}{b}+\frac{c}{d}"),
    (r"\mathbf{q}_i^T \mathbf{k}_j", r"\mathbf{q}_i^\top \mathbf{k}_j"),
    (r"W^{T}", r"W^\intercal"),
    (r"W^{\top}", r"W^{\mathrm{T}}"),
    (r"H(p, q) = -\log(0.1) ≈ 2.302\ \text{nats}", r"H(p, q) = -\log(0.1) \approx 2.302\ \text{nats}"),
    (r"a − b", "a - b"),
    (r"A × B", r"A \times B"),
    (r"\text{PPL} = \exp(\hat{H})", r"\mathrm{PPL} = \exp(\hat{H})"),
    (r"\operatorname{Var}(X)", r"\text{Var}(X)"),
    (r"\boldsymbol{h}_t = \bm{o}_t \odot \tanh(\mathbf{c}_t)",
     r"\mathbf{h}_t = \mathbf{o}_t \odot \tanh(\mathbf{c}_t)"),
    (r"P(w_{t} \mid w_{t-1})", r"P(w_t \mid w_{t-1})"),
    (r"x^{2}_{i}", r"x_i^2"),
    (r"\mathbf{f}_t = \sigma(W_f [\mathbf{h}_{t-1}; \mathbf{x}_t] + \mathbf{b}_f).",
     r"\mathbf{f}_t = \sigma(W_f [\mathbf{h}_{t-1}; \mathbf{x}_t] + \mathbf{b}_f),"),
    (r"\|\mathbf{u}\|_2 \leq 1", r"\lVert\mathbf{u}\rVert_2 \le 1"),
    (r"P(a \mid b)", r"P(a | b)"),
    (r"x_1, \dots, x_n", r"x_1, \ldots, x_n"),
    (r"\exp\!\left( -\frac{1}{T} \right)", r"\exp(-\frac{1}{T})"),
    (r"\left. \frac{a}{b} \right|_{x=0}", r"\frac{a}{b}|_{x=0}"),
    (r"{\mathbf{v}'_{w}}^{\top}", r"{\mathbf{v}'_w}^\top"),
]


@pytest.mark.parametrize("page, cat", FORM_ONLY, ids=[f"form{i}" for i in range(len(FORM_ONLY))])
def test_form_only_edits_normalise_to_the_same_latex(page, cat):
    assert normalise_latex(page) == normalise_latex(cat), (normalise_latex(page), normalise_latex(cat))
    match = compare(page, cat)
    assert match == EquationMatch(True, "normalised", match.detail)
    assert match.detail.startswith("the same once normalised (form only:"), match.detail


def test_normalised_forms_chosen():
    assert normalise_latex(r"\mathbf{q}_i^{T}\,\mathbf{k}_j") == r"\mathbf{q}_i^\top\mathbf{k}_j"
    assert normalise_latex(r"\text{softmax}\!\Bigl(z\Bigr).") == r"\mathrm{softmax}(z)"
    assert normalise_latex(r"\boldsymbol{\alpha}") == r"\mathbf{\alpha}"
    assert normalise_latex(r"a \approx b") == normalise_latex("a ≈ b") == r"a\approx b"


def test_normalisation_keeps_what_is_not_form():
    # a sum's upper limit T is not a transpose; braces around two digits are not a single token
    assert normalise_latex(r"\sum_{t=1}^{T} x_t") == r"\sum_{t=1}^T x_t"
    assert normalise_latex(r"x_{12}") == r"x_{12}"
    assert normalise_latex(r"x_{t-1}") != normalise_latex(r"x_{t-2}")
    assert normalise_latex(r"\sqrt{d_k}") != normalise_latex("d_k")
    assert normalise_latex(r"\text{soft max}") == r"\mathrm{soft max}"  # words in text keep their space
    assert normalise_latex(r"\mathbf{h}") != normalise_latex("h")
    assert normalise_latex(r"\top k") == r"\top k"  # a command name still ends before a letter


_PIECES = st.sampled_from([
    "a", "b", "x", "W", "0", "1", "2.5", "+", "-", "=", ",", ".", "(", ")", "[", "]", "{", "}", "_", "^", "'", "|",
    r"\,", r"\;", r"\!", r"\quad", r"\qquad", " ", "\n", r"\left(", r"\right)", r"\Bigl(", r"\Bigr)", r"\big[",
    r"\frac{a}{b}", r"\dfrac{1}{2}", r"\sqrt{d_k}", r"^T", r"^{T}", r"^\top", r"^{\top}", r"^\intercal",
    r"\text{softmax}", r"\mathrm{Var}", r"\operatorname{count}", r"\mathbf{q}", r"\boldsymbol{k}", r"\bm{v}",
    r"\hat{P}", r"\tilde{\mathbf{c}}", r"\mathcal{L}", r"\mathbb{E}", r"\sum_{t=1}^{T}", r"\prod_t", r"\log",
    r"\exp", r"\tanh", r"\sigma", r"\alpha", r"\mid", r"\|", "≈", "−", "×", r"\approx", r"\le", r"\ldots",
    r"\\", "&", r"\begin{cases}", r"\end{cases}", r"\left.", r"\right.", r"\text{ a  b }", "}}", "{{",
])
_LATEX = st.lists(_PIECES, max_size=14).map(" ".join)


@given(_LATEX)
def test_normalise_latex_is_idempotent(latex):
    once = normalise_latex(latex)
    assert normalise_latex(once) == once


@given(st.lists(st.sampled_from([
    "a", "W", "2", "+", "=", "(", ")", r"\frac{a}{b}", r"\mathbf{q}", r"\text{softmax}", r"\sum_{t=1}^{T}",
    r"\log", "x_t", "^2", r"\cdot"]), min_size=1, max_size=10),
    st.lists(st.sampled_from([" ", "  ", "\n", r"\,", r"\;", r"\!", r"\quad", r"\qquad", r"\ "]), min_size=1,
             max_size=10))
def test_spacing_anywhere_between_tokens_is_form_only(pieces, spaces):
    plain = " ".join(pieces)
    spaced = "".join(p + spaces[i % len(spaces)] + " " for i, p in enumerate(pieces))  # "\\quada" is a command
    assert normalise_latex(spaced) == normalise_latex(plain)


# ----------------------------------------------------------------------------------------------------
# compare: identical, normalised, symbolic, different (and what differs)
# ----------------------------------------------------------------------------------------------------


def test_the_same_latex_up_to_whitespace_is_identical():
    assert compare(CATALOGUE_SDPA, CATALOGUE_SDPA) == EquationMatch(True, "identical", compare(CATALOGUE_SDPA,
                                                                                               CATALOGUE_SDPA).detail)
    assert compare("a = b + c", "a=b+c").how == "identical"


SYMBOLIC_SAME = [  # form-only edits normalisation cannot see: the same expression once parsed
    (r"\text{Attention}(Q, K, V) = \mathrm{softmax}(QK^\top / \sqrt{d_k}) V", CATALOGUE_SDPA),
    (r"\mathcal{L} = -\frac{\sum_{t=1}^{T} \log P(w_t)}{T}", r"\mathcal{L} = -\frac{1}{T} \sum_{t=1}^{T} \log P(w_t)"),
    (r"\frac{1}{2c} x", r"\frac{x}{2c}"),
    (r"x^{1/2}", r"\sqrt{x}"),
    (r"\mathrm{softmax}(z_i; \tau) = \frac{e^{z_i / \tau}}{\sum_j e^{z_j/\tau}}",
     r"\text{softmax}(z_i; \tau) = \frac{\exp(z_i / \tau)}{\sum_j \exp(z_j / \tau)}"),
    (r"\mathbf{c}_t = \mathbf{i}_t \odot \tilde{\mathbf{c}}_t + \mathbf{f}_t \odot \mathbf{c}_{t-1}",
     r"\mathbf{c}_t = \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \tilde{\mathbf{c}}_t"),
    (r"P(w_t \mid w_{t-1}) = \frac{\text{count}(w_{t-1}, w_t) + k}{k V + \text{count}(w_{t-1})}",
     r"P(w_t \mid w_{t-1}) = \frac{\text{count}(w_{t-1}, w_t) + k}{\text{count}(w_{t-1}) + k \cdot V}"),
    (r"H_{\text{nats}} = \ln 2 \cdot H_{\text{bits}}", r"H_{\text{nats}} = H_{\text{bits}} \cdot \ln 2"),
]


@pytest.mark.parametrize("page, cat", SYMBOLIC_SAME, ids=[f"sym{i}" for i in range(len(SYMBOLIC_SAME))])
def test_form_edits_beyond_normalisation_are_the_same_expression(page, cat):
    match = compare(page, cat)
    assert (match.same, match.how) == (True, "symbolic"), match.detail


REAL_CHANGES = [  # (page, catalogue, words the detail must hold)
    (r"D_{\text{KL}}(q \| p) = \sum_x p(x) \log \frac{p(x)}{q(x)}",
     r"D_{\text{KL}}(p \| q) = \sum_x p(x) \log \frac{p(x)}{q(x)}",
     ["the arguments of D_KL are swapped", "D_KL(q ‖ p)", "D_KL(p ‖ q)"]),
    (r"\mathcal{L} = -\frac{1}{2T} \sum_{t=1}^{T} \log P(w_t)",
     r"\mathcal{L} = -\frac{1}{T} \sum_{t=1}^{T} \log P(w_t)",
     ["a factor: the page has 1/2 where the catalogue has 1"]),
    (r"\text{Attention}(Q, K, V) = \text{softmax}\!\Bigl(\frac{QK^\top}{d_k}\Bigr) V", CATALOGUE_SDPA,
     ["a factor", "argument of softmax", "1/sqrt(d_k)",
      "the page has «d_k» where the catalogue has «\\sqrt{d_k}»"]),
    (r"H(X) = \sum_{x} p(x) \log p(x)", r"H(X) = -\sum_{x} p(x) \log p(x)",
     ["a sign: the page's right side is the negative of the catalogue's", "the page lacks «-»"]),
    (r"P(w_t \mid w_{t-2}, w_{t-1})", r"P(w_t \mid w_{t-3}, w_{t-1})",
     ["a symbol: the page has w_{t-2} where the catalogue has w_{t-3}", "in «w_{t-2}»"]),
    (r"\mathbf{h}_t = \tanh(W_{hh} \mathbf{h}_{t-1} + W_{xh} \mathbf{x}_{t-1} + \mathbf{b})",
     r"\mathbf{h}_t = \tanh(W_{hh} \mathbf{h}_{t-1} + W_{xh} \mathbf{x}_t + \mathbf{b})",
     [r"a symbol: the page has \mathbf{x}_{t-1} where the catalogue has \mathbf{x}_t"]),
    (r"\text{Attention}(Q, K, V) = \text{softmax}\!\Bigl(\frac{K^\top Q}{\sqrt{d_k}}\Bigr) V", CATALOGUE_SDPA,
     ["the order of the non-commuting factors", r"K^\top Q", r"Q K^\top"]),
    (r"\mathbf{h}_t = (1 - \mathbf{z}_t) \odot \tilde{\mathbf{h}}_t + \mathbf{z}_t \odot \mathbf{h}_{t-1}",
     r"\mathbf{h}_t = (1 - \mathbf{z}_t) \odot \mathbf{h}_{t-1} + \mathbf{z}_t \odot \tilde{\mathbf{h}}_t",
     ["two symbols exchanged"]),
    (r"\text{PPL} = \exp\!\left( -\frac{1}{T} \sum_{t=1}^{T} \log P(w_t) \right)",
     r"\text{PPL} = \exp\!\left( -\frac{1}{T} \sum_{t=1}^{T} \log \hat{P}(w_t) \right)",
     [r"a function: the page has P where the catalogue has \hat{P}"]),
    (r"\mathbf{f}_t = \sigma(W_f [\mathbf{x}_t; \mathbf{h}_{t-1}] + \mathbf{b}_f)",
     r"\mathbf{f}_t = \sigma(W_f [\mathbf{h}_{t-1}; \mathbf{x}_t] + \mathbf{b}_f)",
     ["the arguments of W_f are swapped"]),
    (r"x \approx y", "x = y", [r"the relation: the page has «\approx» where the catalogue has «=»"]),
    (r"a = b", r"a = b = c", ["the page has 2 sides where the catalogue has 3"]),
    (r"Z'_{i,j} = \begin{cases} Z_{i,j} & j < i \\ -\infty & j \ge i \end{cases}",
     r"Z'_{i,j} = \begin{cases} Z_{i,j} & j \le i \\ -\infty & j > i \end{cases}",
     ["compared as normalised LaTeX (could not be parsed", r"the page has «<» where the catalogue has «\le»"]),
]


@pytest.mark.parametrize("page, cat, words", REAL_CHANGES, ids=[f"change{i}" for i in range(len(REAL_CHANGES))])
def test_real_changes_are_different_and_say_what_differs(page, cat, words):
    match = compare(page, cat)
    assert (match.same, match.how) == (False, "different"), match.detail
    for w in words:
        assert w in match.detail, f"{w!r} not in: {match.detail}"


_NC = [r"Q", r"K^\top", r"\mathbf{x}_t", r"W_1", r"\mathbf{h}_{t-1}", r"V", r"\mathbf{v}^\top"]
_SCALAR = [r"a", r"b_2", r"\frac{1}{2}", r"\sqrt{d_k}", r"\exp(z)", r"\tau"]


@given(st.lists(st.sampled_from(_NC), min_size=2, max_size=4, unique=True), st.lists(st.sampled_from(_SCALAR),
       max_size=2), st.data())
def test_swapping_two_matrices_of_a_product_is_never_the_same(ncs, scalars, data):
    i = data.draw(st.integers(0, len(ncs) - 2))
    swapped = ncs[:i] + [ncs[i + 1], ncs[i]] + ncs[i + 2:]
    page = "y = " + " ".join(scalars[:1] + swapped + scalars[1:])
    cat = "y = " + " ".join(scalars[:1] + ncs + scalars[1:])
    match = compare(page, cat)
    assert not match.same, (page, cat, match)


@given(st.lists(st.sampled_from(_NC + _SCALAR), min_size=1, max_size=4), st.sampled_from(["index", "sign"]),
       st.data())
def test_a_changed_index_or_sign_is_never_the_same(factors, change, data):
    cat = r"y_{t} = " + " ".join(factors) + r" + \mathrm{softmax}(w_{t-1})"
    if change == "index":
        page = cat.replace("w_{t-1}", "w_{t-2}")
    else:
        page = r"y_{t} = -" + " ".join(factors) + r" + \mathrm{softmax}(w_{t-1})"
    match = compare(page, cat)
    assert not match.same and match.how == "different", (page, cat, match)
    assert ("a symbol" in match.detail) if change == "index" else ("the page has «-»" in match.detail
                                                                   or "the page has «-" in match.detail), match.detail


def test_a_parse_that_drops_part_of_the_latex_is_refused():
    # latex2sympy alone reads "a \approx b" as b: the placeholder check refuses any reading that loses one
    from lmverify.course import equations

    conv = equations._Converter()
    held = {"p0": object(), "p1": object()}
    with pytest.raises(equations._Unparseable, match="dropped"):
        conv.read(r"\mathit{p0} \approx \mathit{p1}", held)
    # the relation is read by the module itself, never by latex2sympy
    assert str(to_sympy(r"a \approx b")) == r"\approx(a, b)"


def test_unparseable_equations_are_compared_as_normalised_latex():
    match = compare(r"\begin{cases} 1 & x \\ 0 & y \end{cases}", r"\begin{cases} 1 & x \\ 2 & y \end{cases}")
    assert not match.same and match.detail.startswith("compared as normalised LaTeX (could not be parsed")
    assert "the page has «0» where the catalogue has «2»" in match.detail


def test_to_sympy_reads_the_course_notation():
    import sympy as sp

    eq = to_sympy(CATALOGUE_SDPA)
    assert isinstance(eq, sp.Eq)
    assert {f.func.__name__ for f in eq.atoms(sp.core.function.AppliedUndef)} == {r"\mathrm{Attention}",
                                                                                  r"\mathrm{softmax}"}
    assert {s.name for s in eq.free_symbols} == {"Q", "K", "V", r"K^\top", "d_k"}
    dot = to_sympy(r"e_{i,j} = \mathbf{q}_i^\top \mathbf{k}_j")
    assert dot.rhs == sp.Symbol(r"\mathbf{q}_i^\top") * sp.Symbol(r"\mathbf{k}_j")
    chain = to_sympy(r"a = b = c")
    assert isinstance(chain, sp.And) and len(chain.args) == 2
    assert to_sympy(r"\log x") == sp.log(sp.Symbol("x"))  # \log is the natural log, as in the course
    assert to_sympy(r"\begin{cases} 1 & x \end{cases}") is None
    assert to_sympy(r"\frac{a}{") is None


@given(_LATEX)
def test_to_sympy_and_compare_never_raise(latex):
    to_sympy(latex)
    match = compare(latex, r"a = \frac{b}{2}")
    assert match.how in ("identical", "normalised", "symbolic", "different")
    assert compare(latex, latex).same


def test_equation_match_is_frozen_and_consistent():
    m = EquationMatch(True, "normalised", "x")
    with pytest.raises(AttributeError):
        m.same = False  # type: ignore[misc]
    with pytest.raises(ValueError):
        EquationMatch(True, "different", "")
    with pytest.raises(ValueError):
        EquationMatch(False, "roughly", "")


# ----------------------------------------------------------------------------------------------------
# locate_equation over display spans
# ----------------------------------------------------------------------------------------------------


def test_display_parts_split_rows_quads_and_aligned_environments():
    assert display_parts(r"\mathbf{i}_t = a,\qquad \tilde{\mathbf{c}}_t = b.") == [
        (0, r"\mathbf{i}_t = a,"), (0, r"\tilde{\mathbf{c}}_t = b.")]
    assert display_parts("\\begin{aligned}\nx &= 1 \\\\\ny &= 2\n\\end{aligned}") == [(1, "x  = 1"), (2, "y  = 2")]
    assert display_parts("\n\\begin{aligned}\nx &= 1 \\\\\ny &= 2\n\\end{aligned}\n") == [(2, "x  = 1"), (3, "y  = 2")]
    # a cases environment and a \substack keep their rows
    assert len(display_parts(r"Z = \begin{cases} a & b \\ c & d \end{cases}")) == 1
    assert len(display_parts(r"\sum_{\substack{a \\ b}} x")) == 1


def test_locate_finds_a_part_of_a_display_on_its_own_line():
    displays = [(10, "\n" + r"\mathbf{i}_t = \sigma(z),"
                 + "\n\\qquad\n" + r"\tilde{\mathbf{c}}_t = \tanh(y)." + "\n")]
    line, match, cand = locate_equation(r"\tilde{\mathbf{c}}_t = \tanh(y).", displays, 12)
    assert (line, match.how, cand) == (13, "identical", None)
    line, match, _ = locate_equation(r"\mathbf{i}_t = \sigma(z)", displays, 11)
    assert (line, match.how) == (11, "normalised")


def test_locate_finds_a_whole_term_of_a_display():
    displays = [(5, "\n" + r"P = \lambda_3 \, P_{3}(w) + \lambda_2 \, P_{2}(w)." + "\n")]
    line, match, _ = locate_equation(r"\lambda_2 P_2(w)", displays, 6)
    assert line == 6 and match.same and "a term of the display" in match.detail
    assert locate_equation(r"\lambda_3 P_3", displays, 6)[0] is None  # not a whole term: P_3 without (w)


def test_locate_prefers_the_match_nearest_the_recorded_line():
    displays = [(3, "a = b"), (40, "a = b"), (90, r"a \,=\, b")]
    assert locate_equation("a = b", displays, 41)[0] == 40
    assert locate_equation("a = b", displays, 80)[0] == 90
    assert locate_equation("a = b", displays, 1)[0] == 3


def test_locate_reports_the_nearest_candidate_and_what_differs():
    displays = [(3, r"x = y + z"), (9, r"H(X) = \sum_{x} p(x) \log p(x)")]
    line, match, cand = locate_equation(r"H(X) = -\sum_{x} p(x) \log p(x)", displays, 9)
    assert line is None and cand == (9, r"H(X) = \sum_{x} p(x) \log p(x)")
    assert not match.same and match.detail.startswith("a sign")
    assert locate_equation("a = b", [], 1) == (None, None, None)


def test_locate_matches_symbolically_when_only_the_form_changed():
    displays = [(7, r"\text{Attention}(Q, K, V) = \mathrm{softmax}(QK^\top / \sqrt{d_k}) V")]
    line, match, cand = locate_equation(CATALOGUE_SDPA, displays, 8)
    assert (line, match.how, cand) == (7, "symbolic", None)


# ----------------------------------------------------------------------------------------------------
# With the course: every displayed catalogue equation is found, also in revision 7ce1f9e
# ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eq", DISPLAYED, ids=[eq["id"] for eq in DISPLAYED])
def test_catalogue_equation_is_located_in_its_page(eq, course_dir):
    line, match, cand = locate_equation(eq["latex"], _page_displays(course_dir, eq["page"]), eq["line"])
    assert line is not None, (
        f"{eq['id']}: not found in {eq['page']} (recorded at line {eq['line']}); nearest display at line "
        f"{cand[0] if cand else '-'}: {cand[1].strip() if cand else '-'}\n  {match.detail if match else ''}")
    if abs(line - eq["line"]) > 3:
        warnings.warn(f"{eq['id']}: the equation is now at line {line} of {eq['page']} (recorded {eq['line']})",
                      stacklevel=1)


def _revision(course_dir: Path, name: str) -> Path:
    folder = course_dir / ".." / "course_history" / name
    if not folder.is_dir():
        pytest.skip(f"no course revision {name} next to the course folder ({folder.resolve()})")
    return folder


def test_revision_7ce1f9e_with_doubled_backslashes_has_no_changed_equation(course_dir):
    """7ce1f9e writes math as \\\\( \\\\[ with every backslash doubled; un-doubled, its equations are today's:
    every catalogue equation of its reworked pages found in the current page is found there too."""
    revision = _revision(course_dir, "7ce1f9e")
    checked, changed = [], []
    for eq in DISPLAYED:
        if eq["page"] not in REWORKED_PAGES:
            continue
        if locate_equation(eq["latex"], _page_displays(course_dir, eq["page"]), eq["line"])[0] is None:
            continue
        line, match, cand = locate_equation(eq["latex"], _page_displays(revision, eq["page"]), eq["line"])
        checked.append(eq["id"])
        if line is None:
            changed.append(f"{eq['id']}: {match.detail if match else 'no display'} (nearest: {cand})")
    assert len(checked) == sum(eq["page"] in REWORKED_PAGES for eq in DISPLAYED) == 14
    assert changed == [], "\n".join(changed)


def test_checking_every_catalogued_equation_against_the_six_pages_takes_well_under_a_second(course_dir):
    """Timed in a fresh interpreter from just after the import: reading the six pages, finding their
    displays and locating all displayed catalogue equations. sympy and latex2sympy are not imported
    while every equation is found up to form."""
    script = textwrap.dedent(f"""
        import json, sys, time
        sys.path.insert(0, {str(PROJECT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
        t0 = time.perf_counter()
        from lmverify.course.equations import locate_equation
        from lmverify import catalogue
        from test_course_equations import _page_displays
        t1 = time.perf_counter()
        from pathlib import Path
        course = Path({str(course_dir.resolve())!r})
        eqs = [eq for eq in catalogue.load() if eq["displayed"]]
        pages = {{}}
        found = 0
        for eq in eqs:
            if eq["page"] not in pages:
                pages[eq["page"]] = _page_displays(course, eq["page"])
            found += locate_equation(eq["latex"], pages[eq["page"]], eq["line"])[0] is not None
        t2 = time.perf_counter()
        print(json.dumps({{"import_s": t1 - t0, "check_s": t2 - t1, "equations": len(eqs), "found": found,
                          "pages": len(pages), "sympy": "sympy" in sys.modules,
                          "latex2sympy": "latex2sympy2_extended" in sys.modules}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=PROJECT)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\n{result['equations']} equations, {result['pages']} pages: import {result['import_s']:.3f} s, "
          f"check {result['check_s']:.3f} s")
    assert result["found"] == result["equations"] and result["pages"] == 6
    assert not result["latex2sympy"] and not result["sympy"], "the form-only path must not import sympy"
    assert result["check_s"] < 1.0, result


# ----------------------------------------------------------------------------------------------------
# A worked display's printed results are claims: correcting one does not change the equation
# ----------------------------------------------------------------------------------------------------


def test_correcting_a_worked_displays_printed_result_is_not_an_equation_change():
    from lmverify.course.equations import result_slots

    cat = r"H(p, q) = -\log(0.1) \approx 2.302\ \text{nats}"
    line, match, cand = locate_equation(cat, [(77, r"H(p, q) = -\log(0.1) \approx 2.303\ \text{nats}")], 77)
    assert line == 77 and match.same and "worked numbers" in match.detail
    # what the equation computes is still compared: another argument, or no approximation at all, is a change
    assert locate_equation(cat, [(77, r"H(p, q) = -\log(0.2) \approx 2.302\ \text{nats}")], 77)[0] is None
    assert locate_equation(cat, [(77, r"H(p, q) = -\log(0.1) = 2.302\ \text{nats}")], 77)[0] is None
    # indices after the approx sign are the equation's own
    assert result_slots(r"P(w_t \mid w_1) \approx P(w_t \mid w_{t-n+1})") is None
    assert result_slots(r"0.9^{100} \approx 0.00003") == r"0.9^{100} \approx \square"


def test_fixing_the_2_302_erratum_on_the_page_keeps_its_equation(course_dir):
    """A harmless edit for course CI: the author corrects information_theory.md's 2.302 (-ln 0.1 = 2.3026)."""
    page = (course_dir / "information_theory.md").read_text(encoding="utf-8")
    assert r"\approx 2.302\ \text{nats}" in page
    fixed = page.replace(r"\approx 2.302\ \text{nats}", r"\approx 2.303\ \text{nats}")
    eq = next(e for e in catalogue.load() if e["id"] == "information.cross_entropy_one_hot_fish")
    from lmverify.course.model import parse_page

    displays = parse_page(fixed, "information_theory.md").displays
    line, match, _ = locate_equation(eq["latex"], displays, eq["line"])
    assert line is not None and match.same
