"""A page's equation against the catalogue's: the same up to form, the same expression, or what differs.

Three levels, cheapest first (:func:`compare`):

``identical``
    the same characters once whitespace is ignored;
``normalised``
    equal after :func:`normalise_latex`, a canonical form that erases form-only edits (spacing,
    delimiter sizes, ``\\dfrac``/``\\frac``, ``K^T``/``K^\\top``, ``\\text``/``\\mathrm``/``\\operatorname``,
    ``\\mathbf``/``\\boldsymbol``, Unicode ``≈``/``\\approx``, braces in scripts, trailing punctuation);
``symbolic``
    both parse (:func:`to_sympy`, latex2sympy2_extended under a layer that turns every identifier,
    function application and big operator into a placeholder first) and are the same expression:
    each side of the equation equal at random exact points, and the order of the non-commuting factors
    (matrices, vectors, transposes) in every product unchanged.

Anything else is ``different``, with a ``detail`` in words: a factor or a sign, swapped arguments of a
function, a reordered product, and always the first differing piece of normalised LaTeX with context.
A parse that would drop part of the LaTeX (latex2sympy reads ``a \\approx b`` as ``b``) is refused: every
placeholder must survive the parse, else the pair is compared as normalised LaTeX only and the detail
says so. sympy and latex2sympy are imported only when the normalised forms differ, so checking a page
whose equations are unchanged costs milliseconds.

:func:`locate_equation` finds a catalogue equation among a page's displays, given as ``(line, latex)``
spans (already un-doubled where the page doubles its backslashes); how the spans are found is the
caller's business.
"""

from __future__ import annotations

import difflib
import hashlib
import random
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import sympy

__all__ = [
    "EquationMatch",
    "normalise_latex",
    "to_sympy",
    "compare",
    "locate_equation",
    "display_parts",
    "latex_tokens",
]

# --------------------------------------------------------------------------------------------------
# Tokens and a brace tree
# --------------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\\[A-Za-z]+\*?|\\.|\d+(?:\.\d+)?|\s+|.", re.S)


class _Group(list):
    """A ``{...}`` group: a list of nodes (tokens or groups)."""


#: Unicode characters written for LaTeX commands (one rule: the command is the canonical form).
_UNICODE = {
    "≈": r"\approx ", "−": "-", "–": "-", "×": r"\times ", "·": r"\cdot ", "⋅": r"\cdot ", "≤": r"\le ",
    "≥": r"\ge ", "≠": r"\ne ", "∞": r"\infty ", "′": "'", "…": r"\ldots ", "⊤": r"\top ", "∑": r"\sum ",
    "∏": r"\prod ", "∈": r"\in ", "→": r"\to ", "∣": "|", "‖": r"\| ", "\u00a0": " ", "\u2009": " ",
    "\u202f": " ", "α": r"\alpha ", "β": r"\beta ", "λ": r"\lambda ", "σ": r"\sigma ", "τ": r"\tau ",
    "θ": r"\theta ", "π": r"\pi ",
}
_UNICODE_RE = re.compile("|".join(map(re.escape, _UNICODE)))

#: Commands that only space or size: dropped.
_DROP = {
    r"\,", r"\;", r"\!", r"\:", r"\>", "\\ ", "\\\t", "\\\n", r"\quad", r"\qquad", r"\enspace", r"\thinspace",
    r"\medspace", r"\thickspace", r"\negthinspace", r"\negmedspace", r"\negthickspace", r"\displaystyle",
    r"\textstyle", r"\scriptstyle", r"\scriptscriptstyle", r"\limits", r"\nolimits", r"\left", r"\right",
    r"\middle", r"\big", r"\Big", r"\bigg", r"\Bigg", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", r"\biggl",
    r"\biggr", r"\Biggl", r"\Biggr", r"\bigm", r"\Bigm", r"\biggm", r"\Biggm", "~", r"\/",
}
_DROP_WITH_ARG = {r"\hspace", r"\hspace*", r"\vspace", r"\vspace*", r"\phantom", r"\hphantom", r"\vphantom",
                  r"\label", r"\tag", r"\nonumber", r"\notag"}
_DELIM_SIZERS = {r"\left", r"\right", r"\middle", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr", r"\biggl", r"\biggr",
                 r"\Biggl", r"\Biggr", r"\big", r"\Big", r"\bigg", r"\Bigg", r"\bigm", r"\Bigm"}

#: Synonyms: one canonical command each.
_SYNONYM = {
    r"\dfrac": r"\frac", r"\tfrac": r"\frac", r"\cfrac": r"\frac", r"\leq": r"\le", r"\geq": r"\ge",
    r"\neq": r"\ne", r"\mid": "|", r"\vert": "|", r"\lvert": "|", r"\rvert": "|", r"\Vert": r"\|",
    r"\lVert": r"\|", r"\rVert": r"\|", r"\dots": r"\ldots", r"\dotsc": r"\ldots", r"\dotsb": r"\ldots",
    r"\cdots": r"\ldots", r"\dotsm": r"\ldots", r"\lbrace": r"\{", r"\rbrace": r"\}", r"\lbrack": "[",
    r"\rbrack": "]", r"\ast": "*", r"\intercal": r"\top", r"\transpose": r"\top", r"\rightarrow": r"\to",
    r"\lt": "<", r"\gt": ">", r"\land": r"\wedge", r"\lor": r"\vee", r"\gets": r"\leftarrow",
    r"\widehat": r"\hat", r"\widetilde": r"\tilde", r"\overline": r"\bar", r"\overrightarrow": r"\vec",
}
#: Upright text and operator names: one form, ``\mathrm{...}`` (argument kept verbatim, spaces collapsed).
_TEXT = {r"\text", r"\textrm", r"\textnormal", r"\mathrm", r"\operatorname", r"\operatorname*", r"\mbox",
         r"\textup", r"\textsf", r"\mathsf"}
#: Bold: one form, ``\mathbf{...}``.
_BOLD = {r"\mathbf", r"\boldsymbol", r"\bm", r"\pmb", r"\mathbold", r"\textbf", r"\mathbfit"}
#: Fonts and accents whose argument is math: kept, with the argument normalised, as one token.
_WRAP = {r"\mathcal", r"\mathbb", r"\mathit", r"\mathtt", r"\texttt", r"\mathfrak", r"\mathscr", r"\hat",
         r"\tilde", r"\bar", r"\vec", r"\dot", r"\ddot", r"\check", r"\breve", r"\acute", r"\grave"}
_TRANSPOSE_FORMS = {"T", r"\top", r"\mathrm{T}", r"\mathsf{T}", r"\texttt{T}", r"\mathit{T}"}
#: Commands whose superscript is a limit, never a transpose.
_LIMIT_BEARERS = {r"\sum", r"\prod", r"\int", r"\oint", r"\coprod", r"\bigcup", r"\bigcap", r"\bigoplus",
                  r"\bigotimes", r"\lim", r"\max", r"\min", r"\sup", r"\inf"}


def latex_tokens(latex: str) -> list[str]:
    """The LaTeX's tokens, whitespace left out: commands, escaped characters, numbers, single characters."""
    return [t for t in _TOKEN.findall(latex) if not t.isspace()]


def _raw_argument(text: str, pos: int) -> tuple[str, int] | None:
    """The raw text of the ``{...}`` argument starting at or after ``pos`` (whitespace skipped), and the
    position after it; None where no brace follows."""
    n = len(text)
    while pos < n and text[pos].isspace():
        pos += 1
    if pos >= n or text[pos] != "{":
        return None
    depth, i = 0, pos
    while i < n:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[pos + 1:i], i + 1
        i += 1
    return text[pos + 1:], n


def _text_content(raw: str) -> str:
    raw = re.sub(r"\\[,;:!> ]|\\quad|\\qquad|~", " ", raw)
    return " ".join(raw.split())


def _parse_tree(latex: str) -> _Group:
    """Tokens grouped by braces, with the form-only rules applied token by token (see normalise_latex)."""
    stack: list[_Group] = [_Group()]
    pos, n = 0, len(latex)
    pending_delim_drop = False
    while pos < n:
        m = _TOKEN.match(latex, pos)
        assert m is not None
        tok, pos = m.group(), m.end()
        if tok.isspace():
            continue
        if pending_delim_drop:
            pending_delim_drop = False
            if tok == ".":  # \left. and \right. are invisible delimiters
                continue
        tok = _SYNONYM.get(tok, tok)
        if tok in _DROP:
            if tok in _DELIM_SIZERS:
                pending_delim_drop = True
            continue
        if tok in _DROP_WITH_ARG:
            arg = _raw_argument(latex, pos)
            if arg is not None:
                pos = arg[1]
            continue
        if tok in _TEXT or tok in _BOLD or tok in _WRAP:
            arg = _raw_argument(latex, pos)
            if arg is None:  # \mathrm x: the next token is the argument
                m2 = _TOKEN.match(latex, pos)
                while m2 is not None and m2.group().isspace():
                    pos = m2.end()
                    m2 = _TOKEN.match(latex, pos)
                if m2 is None:
                    stack[-1].append(tok)
                    continue
                content, pos = m2.group(), m2.end()
            else:
                content, pos = arg
            if tok in _TEXT:
                stack[-1].append(r"\mathrm{" + _text_content(content) + "}")
            else:
                name = r"\mathbf" if tok in _BOLD else tok
                stack[-1].append(name + "{" + normalise_latex(content, _strip_punctuation=False) + "}")
            continue
        if tok == "{":
            stack.append(_Group())
            continue
        if tok == "}":
            if len(stack) > 1:
                g = stack.pop()
                stack[-1].append(g)
            # an unmatched "}" is dropped: it cannot be rendered anyway
            continue
        stack[-1].append(tok)
    while len(stack) > 1:  # unclosed groups are closed at the end
        g = stack.pop()
        stack[-1].append(g)
    return stack[0]


def _single_token(node: Any) -> str | None:
    """The token a one-token group holds (a letter, a digit or a command), else None."""
    while isinstance(node, _Group) and len(node) == 1:
        node = node[0]
    if isinstance(node, str):
        if len(node) == 1 and node.isalnum():
            return node
        if node.startswith("\\") and len(node) > 1 and node[1].isalpha():
            return node
    return None


def _canonical(nodes: _Group) -> _Group:
    out = _Group()
    for node in nodes:
        out.append(_canonical(node) if isinstance(node, _Group) else node)
    # braces around one token in a script: x_{t} -> x_t, K^{\top} -> K^\top
    for i in range(len(out) - 1):
        if out[i] in ("_", "^") and isinstance(out[i + 1], _Group):
            tok = _single_token(out[i + 1])
            if tok is not None:
                out[i + 1] = tok
    # a prime written as a superscript: x^{\prime} -> x'
    i = 0
    while i < len(out) - 1:
        if out[i] == "^" and out[i + 1] == r"\prime":
            out[i:i + 2] = ["'"]
        i += 1
    # the forms of the transpose: ^T, ^\top, ^\intercal, ^\mathrm{T}, ^\mathsf{T} -> ^\top (not on a big
    # operator's limit, \sum_{t=1}^T, nor on a number)
    for i in range(len(out) - 1):
        if out[i] == "^" and isinstance(out[i + 1], str) and out[i + 1] in _TRANSPOSE_FORMS:
            b = i - 1
            while b >= 1 and out[b - 1] in ("_", "^"):
                b -= 2
            base = out[b] if b >= 0 else None
            if isinstance(base, str) and (base in _LIMIT_BEARERS or re.fullmatch(r"\d+(\.\d+)?", base)):
                continue
            out[i + 1] = r"\top"
    # script order: x^a_b -> x_b^a (repeated until stable, so that the form is a fixed point)
    swapped = True
    while swapped:
        swapped, i = False, 0
        while i + 3 < len(out):
            if out[i] == "^" and out[i + 2] == "_" and (i == 0 or out[i - 1] not in ("_", "^")):
                out[i:i + 4] = [out[i + 2], out[i + 3], out[i], out[i + 1]]
                swapped = True
                i += 4
            else:
                i += 1
    return out


def _serialise(nodes: list) -> str:
    parts: list[str] = []
    prev, script_arg = "", False
    for k, node in enumerate(nodes):
        s = "{" + _serialise(node) + "}" if isinstance(node, _Group) else node
        if prev and s and (
            (re.search(r"\\[A-Za-z]+\*?$", prev) and s[0].isalnum())
            or (prev[-1].isdigit() and (s[0].isdigit() or s[0] == "."))
            or (prev[-1] == "." and s[0].isdigit())
            or (script_arg and len(prev) == 1 and prev.isalnum() and (s[0].isalnum() or s[0] == "\\"))  # x_t p
        ):
            parts.append(" ")
        parts.append(s)
        script_arg = k > 0 and nodes[k - 1] in ("_", "^")
        prev = s
    return "".join(parts)


def _strip_trailing(nodes: _Group) -> _Group:
    while nodes and isinstance(nodes[-1], str) and nodes[-1] in (",", ".", ";", r"\\"):
        nodes.pop()
    return nodes


@lru_cache(maxsize=4096)
def normalise_latex(latex: str, _strip_punctuation: bool = True) -> str:
    """A canonical form of ``latex`` that erases form-only differences, one rule each:

    - Unicode symbols become their commands: ``≈`` → ``\\approx``, ``−`` → ``-``, ``×`` → ``\\times``,
      ``·`` → ``\\cdot``, ``≤``/``≥``/``≠``/``∞``/``…``/``′``, non-breaking spaces → spaces;
    - spacing commands are dropped: ``\\, \\; \\! \\: \\ \\quad \\qquad ~ \\hspace{..}``, and ``\\displaystyle``;
    - delimiter sizing is dropped: ``\\left \\right \\middle \\big \\Big \\bigg \\Bigg`` (+ ``l``/``r``/``m``),
      ``\\left.``/``\\right.`` with their dot;
    - ``\\dfrac``/``\\tfrac``/``\\cfrac`` → ``\\frac``;
    - relation and delimiter synonyms: ``\\leq``/``\\geq``/``\\neq`` → ``\\le``/``\\ge``/``\\ne``,
      ``\\mid``/``\\vert``/``\\lvert``/``\\rvert`` → ``|``, ``\\Vert``/``\\lVert``/``\\rVert`` → ``\\|``,
      ``\\dots``/``\\cdots`` → ``\\ldots``, ``\\widehat``/``\\widetilde``/``\\overline`` →
      ``\\hat``/``\\tilde``/``\\bar``;
    - upright text ``\\text{x}``/``\\mathrm{x}``/``\\operatorname{x}``/``\\textrm``/``\\mathsf`` → ``\\mathrm{x}``
      (inner spaces collapsed);
    - bold ``\\mathbf``/``\\boldsymbol``/``\\bm``/``\\pmb`` → ``\\mathbf`` (argument normalised);
    - braces around one token in a sub- or superscript are dropped: ``x_{t}`` → ``x_t``;
    - a prime written ``^{\\prime}`` → ``'``;
    - the transpose ``^T``/``^{T}``/``^\\top``/``^{\\top}``/``^\\intercal``/``^{\\mathrm{T}}`` → ``^\\top``;
    - scripts in one order: ``x^a_b`` → ``x_b^a``;
    - trailing punctuation ``,`` ``.`` ``;`` (and a trailing ``\\\\``) is dropped;
    - whitespace is dropped, except a space that ends a command name before a letter.
    """
    latex = _UNICODE_RE.sub(lambda m: _UNICODE[m.group()], latex)
    tree = _canonical(_parse_tree(latex))
    if _strip_punctuation:
        _strip_trailing(tree)
    return _serialise(tree)


# --------------------------------------------------------------------------------------------------
# The comparison's verdict
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EquationMatch:
    """``same``: the two are the same equation; ``how``: ``identical`` (the same characters up to
    whitespace), ``normalised`` (equal after :func:`normalise_latex`), ``symbolic`` (parsed and the same
    expression) or ``different``; ``detail``: in words, what differs (or, for a match, how it was found)."""

    same: bool
    how: str
    detail: str = ""

    def __post_init__(self):
        if self.how not in ("identical", "normalised", "symbolic", "different"):
            raise ValueError(f"EquationMatch.how: {self.how!r} is not identical/normalised/symbolic/different")
        if self.same == (self.how == "different"):
            raise ValueError(f"EquationMatch: same={self.same} contradicts how={self.how!r}")


def _squash(latex: str) -> str:
    return "".join(latex.split())


def _show(tokens: list[str]) -> str:
    return _serialise(tokens) if tokens else ""


def _balanced(tokens: list[str]) -> bool:
    return (tokens.count("{") == tokens.count("}") and tokens.count("(") == tokens.count(")")
            and tokens.count("[") == tokens.count("]"))


def _token_difference(page_latex: str, cat_latex: str) -> str:
    """The first differing piece of two LaTeX strings token by token, widened to balanced braces, with
    context: what a form-only note shows (``\\left`` where the catalogue has ``\\Bigl``)."""
    a, b = latex_tokens(page_latex), latex_tokens(cat_latex)
    ops = [op for op in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()]
    diffs = [k for k, op in enumerate(ops) if op[0] != "equal"]
    if not diffs:
        return "no difference in the normalised LaTeX"
    k = diffs[0]
    _, i1, i2, j1, j2 = ops[k]
    # widen to whole groups: both pieces balanced, and neither starts inside a command's argument
    while not (_balanced(a[i1:i2]) and _balanced(b[j1:j2])) and k + 1 < len(ops):
        k += 1
        i2, j2 = ops[k][2], ops[k][4]
    while i1 > 0 and j1 > 0 and a[i1 - 1] == b[j1 - 1] and (
        a[i1 - 1] in ("_", "^") or (a[i1 - 1].startswith("\\") and i2 > i1 and a[i1:i1 + 1] == ["{"])
    ):
        i1, j1 = i1 - 1, j1 - 1
    before = "".join(a[:i1])[-16:]
    where = f" after «{before}»" if before else " at the start"
    rest = sum(1 for op in ops[k + 1:] if op[0] != "equal")
    more = f" (and {rest} more difference{'s' if rest > 1 else ''})" if rest else ""
    pa, pb = _show(a[i1:i2]), _show(b[j1:j2])
    if not pa:
        return f"the page lacks «{pb}» that the catalogue has{where}{more}"
    if not pb:
        return f"the page has «{pa}» that the catalogue lacks{where}{more}"
    return f"the page has «{pa}» where the catalogue has «{pb}»{where}{more}"


def _tree_difference(page_norm: str, cat_norm: str) -> str:
    """Where two normalised forms first differ, in whole brace groups: descends into a group when the
    two differ only inside it, and names the enclosing construct (``in «w_{t-2}»``) or what precedes."""
    a: list = _parse_tree(page_norm)
    b: list = _parse_tree(cat_norm)
    context = ""
    for _ in range(64):
        sa, sb = [_serialise([n]) for n in a], [_serialise([n]) for n in b]
        ops = difflib.SequenceMatcher(None, sa, sb, autojunk=False).get_opcodes()
        diffs = [op for op in ops if op[0] != "equal"]
        if not diffs:
            return "no difference in the normalised LaTeX"
        tag, i1, i2, j1, j2 = diffs[0]
        if (len(diffs) == 1 and tag == "replace" and i2 - i1 == 1 and j2 - j1 == 1
                and isinstance(a[i1], _Group) and isinstance(b[j1], _Group) and a[i1] and b[j1]):
            k = i1
            while k > 0 and (isinstance(a[k - 1], _Group) or a[k - 1] in ("_", "^")):
                k -= 1
            k = max(0, k - 1)
            end = i1 + 1
            while end < len(a) and isinstance(a[end], _Group) and end - i1 < 3:
                end += 1
            context = _serialise(a[k:end])
            a, b = list(a[i1]), list(b[j1])
            continue
        more = 0
        last = diffs[0]
        for op in diffs[1:]:  # merge the differences close together into one piece
            if op[1] - last[2] <= 3 and op[2] - i1 <= 12 and op[4] - j1 <= 12:
                last = op
            else:
                more += 1
        i2, j2 = last[2], last[4]
        pa, pb = _serialise(a[i1:i2]), _serialise(b[j1:j2])
        if context:
            where = f" (in «{context}»)"
        else:
            before = _serialise(a[max(0, i1 - 3):i1])
            where = f" after «{before}»" if before else " at the start"
        tail = f" (and {more} more difference{'s' if more > 1 else ''})" if more else ""
        if not pa:
            return f"the page lacks «{pb}» that the catalogue has{where}{tail}"
        if not pb:
            return f"the page has «{pa}» that the catalogue lacks{where}{tail}"
        return f"the page has «{pa}» where the catalogue has «{pb}»{where}{tail}"
    return "the normalised LaTeX differs"


@lru_cache(maxsize=2048)
def compare(page_latex: str, catalogue_latex: str) -> EquationMatch:
    """The page's LaTeX against the catalogue's: identical, the same once normalised, the same expression
    once parsed, or different (with what differs in words)."""
    if _squash(page_latex) == _squash(catalogue_latex):
        return EquationMatch(True, "identical", "the same LaTeX (whitespace aside)")
    np_, nc = normalise_latex(page_latex), normalise_latex(catalogue_latex)
    if np_ == nc:
        return EquationMatch(True, "normalised", "the same once normalised (form only: "
                             + _token_difference(page_latex, catalogue_latex) + ")")
    pp, pc = _parsed(np_), _parsed(nc)
    if pp is None or pc is None:
        which = "neither" if pp is None and pc is None else ("the page's" if pp is None else "the catalogue's")
        return EquationMatch(False, "different", f"compared as normalised LaTeX (could not be parsed: {which}): "
                             + _tree_difference(np_, nc))
    verdict = _symbolic_verdict(pp, pc)
    if verdict is None:
        return EquationMatch(True, "symbolic", "the same expression once parsed (" + _tree_difference(np_, nc)
                             + ")")
    return EquationMatch(False, "different", verdict + "; " + _tree_difference(np_, nc))


# --------------------------------------------------------------------------------------------------
# Parsing: placeholders for identifiers, functions and big operators, latex2sympy for the arithmetic
# --------------------------------------------------------------------------------------------------


class _Unparseable(Exception):
    pass


_RELATIONS = {"=", r"\approx", r"\le", r"\ge", "<", ">", r"\ne", r"\equiv", r"\propto", r"\simeq",
              r"\triangleq", r"\coloneqq", r"\doteq", r"\cong"}
_KNOWN_FUNCS = {r"\exp", r"\log", r"\ln", r"\tanh", r"\sinh", r"\cosh", r"\sin", r"\cos", r"\tan"}
_BIG_OPS = {r"\sum", r"\prod", r"\max", r"\min", r"\lim", r"\sup", r"\inf", r"\argmax", r"\argmin",
            r"\arg", r"\coprod", r"\bigoplus"}
_GREEK = {
    r"\alpha", r"\beta", r"\gamma", r"\delta", r"\epsilon", r"\varepsilon", r"\zeta", r"\eta", r"\theta",
    r"\vartheta", r"\iota", r"\kappa", r"\lambda", r"\mu", r"\nu", r"\xi", r"\pi", r"\varpi", r"\rho",
    r"\varrho", r"\sigma", r"\varsigma", r"\tau", r"\upsilon", r"\phi", r"\varphi", r"\chi", r"\psi",
    r"\omega", r"\Gamma", r"\Delta", r"\Theta", r"\Lambda", r"\Xi", r"\Pi", r"\Sigma", r"\Upsilon",
    r"\Phi", r"\Psi", r"\Omega", r"\ell", r"\hbar", r"\nabla", r"\partial",
}
_ARG_MARKERS = {";": ";", "|": "|", r"\|": "‖", ":": ":"}
_LABEL_SCRIPT = re.compile(r"^(\\mathrm\{.*\}|\\texttt\{.*\}|[A-Za-z]|\\[A-Za-z]+|\*|\\star|\\top|')$")


@dataclass(frozen=True)
class _Parsed:
    sides: tuple  # sympy expressions
    relations: tuple[str, ...]
    orders: tuple  # per side: Counter of ordered runs of non-commuting factors


@dataclass
class _Factor:
    latex: str  # what latex2sympy reads
    nc: tuple[str, ...]  # non-commuting factor keys, in order, inlined into the enclosing product


def _sympy():
    import sympy

    return sympy


@lru_cache(maxsize=1)
def _l2s():
    from latex2sympy2_extended import latex2sympy
    from latex2sympy2_extended.latex2sympy2 import ConversionConfig

    config = ConversionConfig(interpret_as_mixed_fractions=False, interpret_simple_eq_as_assignment=False,
                              interpret_contains_as_eq=False, lowercase_symbols=False)
    return latex2sympy, config


class _Converter:
    """One side of an equation, a brace tree, to a sympy expression: identifiers become sympy Symbols named
    by their normalised LaTeX, function applications ``f(a, b)`` undefined sympy Functions (``;``, ``|``,
    ``‖`` kept as marker arguments), big operators ``\\sum_{..}^{..}`` Functions of their body; what is
    left, arithmetic over placeholders, is latex2sympy's to read."""

    def __init__(self):
        self.n = 0
        self.orders: Counter = Counter()
        self.symbols: set[str] = set()  # every identifier read: all must be in the result

    # a level: a list of nodes -> (sympy expression, nc keys if it is one product, else None)
    def level(self, nodes: list) -> tuple[Any, tuple[str, ...] | None]:
        pieces: list[str] = []
        placeholders: dict[str, Any] = {}
        runs: list[list[str]] = [[]]
        i = 0
        nodes = list(nodes)
        if not nodes:
            raise _Unparseable("empty")
        while i < len(nodes):
            node = nodes[i]
            if isinstance(node, str) and node in ("+", "-", r"\pm"):
                if node == r"\pm":
                    raise _Unparseable(r"\pm")
                pieces.append(node)
                runs.append([])
                i += 1
                continue
            if isinstance(node, str) and node in (r"\cdot", r"\times", r"\odot", "/"):
                if node == "/" and i + 1 < len(nodes) and nodes[i + 1] in ("+", "-"):
                    raise _Unparseable("/")
                pieces.append("/" if node == "/" else r"\cdot")
                i += 1
                continue
            if isinstance(node, str) and re.fullmatch(r"\d+(\.\d+)?", node):
                i, factor = self.factor(nodes, i, placeholders)
                pieces.append(factor.latex)
                continue
            if isinstance(node, str) and node in _BIG_OPS:
                i, latex_piece, key = self.big_operator(nodes, i, placeholders)
                pieces.append(latex_piece)
                if key:
                    runs[-1].append(key)
                continue
            i, factor = self.factor(nodes, i, placeholders)
            # a power or transpose after the factor is handled inside factor(); here only the product
            pieces.append(factor.latex)
            runs[-1].extend(factor.nc)
        expr = self.read(" ".join(pieces), placeholders)
        runs = [r for r in runs if r]
        if len(runs) <= 1 and sum(1 for p in pieces if p in ("+", "-")) == 0:
            return expr, tuple(runs[0]) if runs else ()
        for r in runs:
            self.orders[tuple(r)] += 1
        return expr, None

    def read(self, text: str, placeholders: dict[str, Any]) -> Any:
        """latex2sympy's reading of arithmetic over placeholders, the placeholders put back; refused
        unless every placeholder of the text survives the parse (latex2sympy reads ``a \\approx b`` as
        ``b``: a parse must not drop anything)."""
        sp = _sympy()
        used = re.findall(r"\\mathit\{(p\d+)\}", text)
        held = [_parse_placeholder_latex(p) for p in text.split()]
        if held and all(held):  # a product of placeholders: nothing for latex2sympy to read
            expr = sp.Mul(*[sp.Symbol(f"math{{{h}}}") for h in held])
        else:
            latex2sympy, config = _l2s()
            try:
                expr = latex2sympy(text, normalization_config=None, conversion_config=config)
            except Exception as exc:  # latex2sympy raises bare Exceptions for grammar errors
                raise _Unparseable(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
        if not isinstance(expr, sp.Expr):
            raise _Unparseable(f"not an expression: {type(expr).__name__}")
        names = {s.name for s in expr.free_symbols}
        if any(f"math{{{p}}}" not in names for p in used):
            raise _Unparseable("the parse dropped part of the LaTeX")
        if any(not re.fullmatch(r"math\{p\d+\}", n) for n in names):
            raise _Unparseable(f"unexpected symbols in {text!r}")
        return expr.xreplace({sp.Symbol(f"math{{{p}}}"): placeholders[p] for p in used})

    def count(self, nc: tuple[str, ...] | None) -> None:
        """A product's ordered non-commuting factors, wrapped into something opaque: counted apart."""
        if nc:
            self.orders[tuple(nc)] += 1

    def hold(self, obj: Any, placeholders: dict[str, Any]) -> str:
        name = f"p{self.n}"
        self.n += 1
        placeholders[name] = obj
        return rf"\mathit{{{name}}}"

    def sub(self, nodes: list) -> tuple[Any, tuple[str, ...]]:
        """A nested level: its expression, and its nc keys (inlined when a single product, else one key
        for the whole group, its inner products counted separately)."""
        expr, nc = self.level(nodes)
        if nc is not None:
            return expr, nc
        return expr, (("(" + _sympy().sstr(expr) + ")",) if _has_nc(expr) else ())

    def args(self, nodes: list) -> list[Any]:
        """Function arguments split at top-level separators; ``;``, ``|``, ``‖``, ``:`` kept as markers."""
        sp = _sympy()
        out, cur = [], []
        depth = 0
        for node in nodes:
            if isinstance(node, str) and node in ("(", "["):
                depth += 1
            elif isinstance(node, str) and node in (")", "]"):
                depth -= 1
            elif depth == 0 and isinstance(node, str) and (node == "," or node in _ARG_MARKERS):
                if not cur:
                    raise _Unparseable("an empty argument")
                out.append(self.arg(cur))
                cur = []
                if node in _ARG_MARKERS:
                    out.append(sp.Symbol(_ARG_MARKERS[node]))
                continue
            cur.append(node)
        if not cur:
            raise _Unparseable("an empty argument")
        out.append(self.arg(cur))
        return out

    def arg(self, nodes: list) -> Any:
        sp = _sympy()
        if len(nodes) == 1 and nodes[0] in (r"\cdot", r"\ldots", "*"):
            return sp.Symbol(nodes[0], commutative=True)
        expr, nc = self.level(nodes)
        self.count(nc)
        return expr

    def big_operator(self, nodes: list, i: int, placeholders: dict[str, Any]) -> tuple[int, str, str | None]:
        sp = _sympy()
        name_nodes = [nodes[i]]
        i += 1
        if name_nodes[0] == r"\arg" and i < len(nodes) and nodes[i] in (r"\max", r"\min"):
            name_nodes.append(nodes[i])
            i += 1
        while i < len(nodes) and nodes[i] in ("_", "^"):
            if i + 1 >= len(nodes):
                raise _Unparseable("a script without argument")
            name_nodes += [nodes[i], nodes[i + 1]]
            i += 2
        # the body: every factor up to the next top-level + or - (or the end of the level)
        j, depth = i, 0
        while j < len(nodes):
            t = nodes[j]
            if isinstance(t, str):
                if t in ("(", "["):
                    depth += 1
                elif t in (")", "]"):
                    depth -= 1
                elif depth == 0 and t in ("+", "-", r"\pm") and j > i:
                    break
            j += 1
        body = nodes[i:j]
        if not body:
            raise _Unparseable("a big operator without body")
        expr, nc = self.sub(body)
        name = _serialise(name_nodes)
        obj = sp.Function(name)(expr)
        key = name if nc else None
        self.count(nc)
        return j, self.hold(obj, placeholders), key

    def matching(self, nodes: list, i: int, open_: str, close: str) -> int:
        depth = 0
        for j in range(i, len(nodes)):
            t = nodes[j]
            if t == open_:
                depth += 1
            elif t == close:
                depth -= 1
                if depth == 0:
                    return j
        raise _Unparseable(f"unmatched {open_}")

    def factor(self, nodes: list, i: int, placeholders: dict[str, Any]) -> tuple[int, _Factor]:
        sp = _sympy()
        node = nodes[i]
        nc: tuple[str, ...] = ()
        if isinstance(node, str) and node in _KNOWN_FUNCS:
            # built here around the argument (latex2sympy is slow on function calls, and reads \log as
            # log base 10): \log is the natural log, as in the course
            func = {r"\exp": sp.exp, r"\log": sp.log, r"\ln": sp.log, r"\tanh": sp.tanh, r"\sinh": sp.sinh,
                    r"\cosh": sp.cosh, r"\sin": sp.sin, r"\cos": sp.cos, r"\tan": sp.tan}[node]
            head, base = node, None
            i += 1
            if node == r"\log" and i + 1 < len(nodes) and nodes[i] == "_":
                b = _single_token(nodes[i + 1])
                if b is None or not b.isdigit():
                    raise _Unparseable("a log base")
                base, head = sp.Integer(b), r"\log_" + b
                i += 2
            if i < len(nodes) and nodes[i] == "(":
                j = self.matching(nodes, i, "(", ")")
                inner, inner_nc = self.sub(nodes[i + 1:j])
                i = j + 1
            else:  # \log x, \log \frac{a}{b}: the next factor is the argument
                if i >= len(nodes):
                    raise _Unparseable(f"{node} without argument")
                i, arg = self.factor(nodes, i, placeholders)
                inner, inner_nc = self.read(arg.latex, placeholders), arg.nc
            self.count(inner_nc)
            obj = func(inner) if base is None else sp.log(inner, base)
            nc = (head,) if inner_nc else ()
            return self.postfix(nodes, i, _Factor(self.hold(obj, placeholders), nc), placeholders)
        if node == r"\frac":
            if i + 2 >= len(nodes) or not isinstance(nodes[i + 1], _Group) or not isinstance(nodes[i + 2], _Group):
                raise _Unparseable(r"\frac without two groups")
            num, num_nc = self.sub(nodes[i + 1])
            den, den_nc = self.sub(nodes[i + 2])
            latex_piece = r"\frac{" + self.hold(num, placeholders) + "}{" + self.hold(den, placeholders) + "}"
            return self.postfix(nodes, i + 3, _Factor(latex_piece, num_nc + den_nc), placeholders)
        if node == r"\sqrt":
            j = i + 1
            index = ""
            if j < len(nodes) and nodes[j] == "[":
                k = self.matching(nodes, j, "[", "]")
                idx = nodes[j + 1:k]
                if not (len(idx) == 1 and isinstance(idx[0], str) and idx[0].isdigit()):
                    raise _Unparseable("a root's index")
                index = "[" + idx[0] + "]"
                j = k + 1
            if j >= len(nodes):
                raise _Unparseable(r"\sqrt without argument")
            body = nodes[j] if isinstance(nodes[j], _Group) else [nodes[j]]
            inner, inner_nc = self.sub(body)
            latex_piece = r"\sqrt" + index + "{" + self.hold(inner, placeholders) + "}"
            return self.postfix(nodes, j + 1, _Factor(latex_piece, inner_nc), placeholders)
        if node == r"\infty":
            return self.postfix(nodes, i + 1, _Factor(r"\infty", ()), placeholders)
        if isinstance(node, str) and re.fullmatch(r"\d+(\.\d+)?", node):  # exact: 0.1 is 1/10
            return self.postfix(nodes, i + 1, _Factor(self.hold(sp.Rational(node), placeholders), ()), placeholders)
        if node in ("(", "["):
            close = ")" if node == "(" else "]"
            j = self.matching(nodes, i, node, close)
            inner_nodes = nodes[i + 1:j]
            if node == "[" or any(isinstance(t, str) and (t == "," or t in _ARG_MARKERS) for t in inner_nodes):
                args = self.args(inner_nodes)
                obj = sp.Function(node + close)(*args)
                nc = (node + close,) if any(_has_nc(a) for a in args) else ()
            else:
                obj, nc = self.sub(inner_nodes)
            return self.postfix(nodes, j + 1, _Factor(self.hold(obj, placeholders), nc), placeholders)
        if node in (r"\|", "|"):
            j = next((k for k in range(i + 1, len(nodes)) if nodes[k] == node), None)
            if j is None:
                raise _Unparseable(f"unmatched {node}")
            inner, inner_nc = self.sub(nodes[i + 1:j])
            self.count(inner_nc)
            name = node + node
            j += 1
            if j + 1 < len(nodes) and nodes[j] == "_":
                name += "_" + _serialise([nodes[j + 1]])
                j += 2
            obj = sp.Function(name)(inner)
            return self.postfix(nodes, j, _Factor(self.hold(obj, placeholders), (name,) if inner_nc else ()),
                                placeholders)
        if isinstance(node, _Group):
            inner = list(node)
            if _is_atom_start(inner[0] if inner else None) and _atom_length(inner, 0) == len(inner):
                # {\mathbf{v}'_{w}}: a braced identifier, transposed or not after the brace
                return self.atom(nodes, i, placeholders)
            obj, nc = self.sub(inner)
            return self.postfix(nodes, i + 1, _Factor(self.hold(obj, placeholders), nc), placeholders)
        if _is_atom_start(node):
            return self.atom(nodes, i, placeholders)
        raise _Unparseable(f"cannot read {_serialise([node])!r}")

    def atom(self, nodes: list, i: int, placeholders: dict[str, Any]) -> tuple[int, _Factor]:
        """An identifier with its labels (subscripts, primes, label superscripts, a transpose), then a
        function application if ``(``/``[`` follows, else a power if a numeric superscript follows."""
        sp = _sympy()
        start = i
        i += 1
        transposed = False
        while i < len(nodes) and not (nodes[start] == "e" and nodes[i] == "^"):  # e^x: the exponential
            t = nodes[i]
            if t == "'":
                i += 1
            elif t == "_" and i + 1 < len(nodes):
                i += 2
            elif t == "^" and i + 1 < len(nodes) and _is_label_script(nodes[i + 1]):
                transposed = transposed or nodes[i + 1] == r"\top"
                i += 2
            else:
                break
        name_nodes = nodes[start:i]
        name = _serialise(name_nodes)
        base = nodes[start]
        bold = _is_bold(base)
        upper = _is_upper(base)
        if i < len(nodes) and nodes[i] in ("(", "[") and not bold and not transposed and name != "e":
            close = ")" if nodes[i] == "(" else "]"
            j = self.matching(nodes, i, nodes[i], close)
            args = self.args(nodes[i + 1:j])
            fname = name if nodes[i] == "(" else name + "[]"
            obj = sp.Function(fname)(*args)
            nc = (fname,) if any(_has_nc(a) for a in args) else ()
            return self.postfix(nodes, j + 1, _Factor(self.hold(obj, placeholders), nc), placeholders)
        if name == "e" and i + 1 < len(nodes) and nodes[i] == "^":  # e^{x}: the exponential
            expo = nodes[i + 1]
            expr, expo_nc = self.sub(list(expo) if isinstance(expo, _Group) else [expo])
            self.count(expo_nc)
            return i + 2, _Factor(self.hold(sp.exp(expr), placeholders), ())
        symbol = sp.Symbol(name)
        self.symbols.add(name)
        nc = (name,) if (bold or upper or transposed) else ()
        return self.postfix(nodes, i, _Factor(self.hold(symbol, placeholders), nc), placeholders)

    def postfix(self, nodes: list, i: int, factor: _Factor, placeholders: dict[str, Any]) -> tuple[int, _Factor]:
        """A power (``^2``, ``^{-1}``, ``^{n}``) or a transpose after a factor; primes and subscripts on a
        non-identifier are not read."""
        sp = _sympy()
        while i < len(nodes) and nodes[i] == "^":
            if i + 1 >= len(nodes):
                raise _Unparseable("a superscript without argument")
            sup = nodes[i + 1]
            if sup == r"\top":
                # the transpose of a group: an undefined function of what the group holds
                inner = _parse_placeholder_latex(factor.latex)
                if inner is None:
                    raise _Unparseable("a transposed expression")
                held = self._resolve(inner, placeholders)
                del placeholders[inner]
                self.count(factor.nc)
                obj = sp.Function(r"\top")(held)
                key = "(" + sp.sstr(held) + r")^\top"
                factor = _Factor(self.hold(obj, placeholders), (key,))
                i += 2
                continue
            expo, expo_nc = self.sub(list(sup) if isinstance(sup, _Group) else [sup])
            self.count(expo_nc)
            factor = _Factor("{" + factor.latex + "}^{" + self.hold(expo, placeholders) + "}", factor.nc)
            i += 2
        if i < len(nodes) and nodes[i] in ("_", "'"):
            raise _Unparseable("a script on an expression")
        return i, factor

    @staticmethod
    def _resolve(name: str, placeholders: dict[str, Any]) -> Any:
        if name not in placeholders:
            raise _Unparseable("a transposed expression")
        return placeholders[name]


def _parse_placeholder_latex(latex: str) -> str | None:
    m = re.fullmatch(r"\s*\\mathit\{(p\d+)\}\s*", latex)
    return m.group(1) if m else None


def _is_bold(node: Any) -> bool:
    s = node if isinstance(node, str) else _serialise(node) if isinstance(node, _Group) else ""
    return r"\mathbf{" in s


def _is_upper(node: Any) -> bool:
    if isinstance(node, _Group):
        return any(_is_upper(n) for n in node[:1])
    if not isinstance(node, str):
        return False
    if len(node) == 1:
        return node.isupper()
    if node in _GREEK:
        return node[1].isupper()
    m = re.match(r"\\(?:hat|tilde|bar|vec|dot|ddot|check|breve|mathcal|mathbb|mathit)\{(.*)\}$", node)
    if m:
        inner = m.group(1)
        return bool(re.match(r"[A-Z]", inner)) or r"\mathbf" in inner or inner[1:2].isupper()
    return False


def _is_atom_start(node: Any) -> bool:
    if isinstance(node, _Group):
        return bool(node) and _is_atom_start(node[0]) and _atom_length(list(node), 0) == len(node)
    if not isinstance(node, str):
        return False
    if len(node) == 1:
        return node.isalpha()
    if node in _GREEK or node == r"\ldots":
        return True
    return bool(re.match(r"\\(mathrm|mathbf|mathcal|mathbb|mathit|mathtt|texttt|mathfrak|mathscr|hat|tilde|bar|"
                         r"vec|dot|ddot|check|breve|acute|grave)\{", node))


def _atom_length(nodes: list, i: int) -> int:
    j = i + 1
    while j < len(nodes):
        if nodes[j] == "'":
            j += 1
        elif nodes[j] == "_" and j + 1 < len(nodes):
            j += 2
        elif nodes[j] == "^" and j + 1 < len(nodes) and _is_label_script(nodes[j + 1]):
            j += 2
        else:
            break
    return j - i


def _is_label_script(node: Any) -> bool:
    """A superscript that labels rather than raises to a power: ``^\\top``, ``^{\\mathrm{enc}}``, ``^Q``,
    ``^\\star``, ``^{(t)}``; a number or an expression with digits or operators is a power."""
    if isinstance(node, _Group):
        s = _serialise(node)
        if re.fullmatch(r"\(.*\)", s):  # ^{(t)}: an index in parentheses
            return True
        if re.search(r"\d|[+\-/]|\\frac|\\sqrt", s):
            return False
        return all(isinstance(n, str) and _LABEL_SCRIPT.match(n) for n in node) and len(node) > 0
    return isinstance(node, str) and bool(_LABEL_SCRIPT.match(node))


def _has_nc(expr: Any) -> bool:
    """Does the expression hold a non-commuting factor (a bold, upper-case or transposed identifier)?"""
    for s in getattr(expr, "free_symbols", ()):
        name = s.name
        if r"\mathbf" in name or r"\top" in name or re.match(r"[A-Z]|\\[A-Z]", name) or re.match(
                r"\\(hat|tilde|bar|mathcal|mathbb)\{[A-Z]", name):
            return True
    return False


def _split_relations(tree: list) -> tuple[list[list], list[str]]:
    """The sides of a display's equations, split at top-level relations (``=``, ``\\approx``, ...) and
    at top-level commas (``a = 0, b = 1``: the comma is kept as a relation of its own)."""
    sides, rels, cur = [], [], []
    depth = 0
    for node in tree:
        if isinstance(node, str):
            if node in ("(", "["):
                depth += 1
            elif node in (")", "]"):
                depth -= 1
            elif depth == 0 and (node in _RELATIONS or node == ","):
                sides.append(cur)
                rels.append(node)
                cur = []
                continue
        cur.append(node)
    sides.append(cur)
    return sides, rels


@lru_cache(maxsize=1024)
def _parsed(normalised: str) -> _Parsed | None:
    """The normalised LaTeX parsed side by side; None where it cannot be read in full."""
    tree = _canonical(_parse_tree(normalised))
    _strip_trailing(tree)
    sides, rels = _split_relations(tree)
    exprs, orders = [], []
    try:
        for side in sides:
            if any(isinstance(n, str) and n in ("&", r"\\", r"\begin", r"\end") for n in side):
                raise _Unparseable("an environment, a row or a list")
            conv = _Converter()
            expr, nc = conv.level(side)
            if nc:
                conv.orders[nc] += 1
            if conv.symbols - _symbols_of(expr):  # 0·x, x - x: a symbol of the LaTeX is gone
                raise _Unparseable("a symbol of the LaTeX is not in the expression")
            exprs.append(expr)
            orders.append(conv.orders)
    except _Unparseable:
        return None
    except RecursionError:
        return None
    return _Parsed(tuple(exprs), tuple(rels), tuple(orders))


def to_sympy(latex: str) -> "sympy.Expr | sympy.Eq | None":
    """The LaTeX as a sympy object, or None where it cannot be parsed in full (never raises).

    Identifiers are Symbols named by their normalised LaTeX (``\\mathbf{q}_i^\\top``, ``d_k``), function
    applications undefined Functions (``\\mathrm{softmax}(...)``, ``P(w_t, |, w_{t-1})`` with ``|``, ``;``
    and ``‖`` kept as marker arguments), ``\\sum_{..}^{..} body`` a Function named by the operator and its
    scripts applied to the body. One side gives an expression; ``a = b`` a ``sympy.Eq``; a chain
    ``a = b = c`` a ``sympy.And`` of ``Eq``s; ``\\le``, ``<``, ``\\ne``... sympy's relations; ``\\approx`` and
    other relations without a sympy class ``Function(relation)(a, b)``."""
    try:
        return _to_sympy(latex)
    except Exception:  # pragma: no cover - a bug must not break a report
        return None


def _to_sympy(latex: str) -> Any:
    parsed = _parsed(normalise_latex(latex))
    if parsed is None:
        return None
    sp = _sympy()
    if not parsed.relations:
        return parsed.sides[0]
    classes = {"=": sp.Eq, r"\le": sp.Le, r"\ge": sp.Ge, "<": sp.Lt, ">": sp.Gt, r"\ne": sp.Ne}
    groups: list[list] = [[]]  # equations separated by top-level commas
    for rel, a, b in zip(parsed.relations, parsed.sides, parsed.sides[1:]):
        if rel == ",":
            if not groups[-1]:
                groups[-1].append(a)
            groups.append([])
            continue
        cls = classes.get(rel)
        groups[-1].append(cls(a, b, evaluate=False) if cls else sp.Function(rel)(a, b))
    if not groups[-1]:
        groups[-1].append(parsed.sides[-1])
    eqs = [g[0] if len(g) == 1 else (sp.And(*g, evaluate=False) if all(isinstance(r, sp.Rel) for r in g)
                                     else sp.Tuple(*g)) for g in groups]
    return eqs[0] if len(eqs) == 1 else sp.Tuple(*eqs)


# --------------------------------------------------------------------------------------------------
# Equivalence: exact random points, undefined functions as deterministic pseudo-random functions
# --------------------------------------------------------------------------------------------------

_POINTS = 3


def _pseudo(name: str, args: tuple) -> Any:
    sp = _sympy()
    key = name + "(" + ",".join(_fingerprint(a) for a in args) + ")"
    h = int(hashlib.sha256(key.encode()).hexdigest()[:12], 16)
    return sp.Rational(h % 9973 + 17, 4099)


def _fingerprint(value: Any) -> str:
    sp = _sympy()
    import mpmath

    try:
        v = sp.N(value, 30)
        if v.is_real and v.is_Float:
            return mpmath.nstr(v._to_mpmath(110), 20)
        if v.is_number:
            re_, im = v.as_real_imag()
            return (mpmath.nstr(sp.Float(re_, 30)._to_mpmath(110), 20) + "j"
                    + mpmath.nstr(sp.Float(im, 30)._to_mpmath(110), 20))
    except Exception:
        pass
    return sp.srepr(value)


def _evaluate(expr: Any, point: dict) -> Any:
    """The expression at exact values of its symbols, undefined functions read as pseudo-random ones."""
    sp = _sympy()
    from sympy.core.function import AppliedUndef

    if isinstance(expr, sp.Symbol):
        return point.get(expr.name, expr)
    if isinstance(expr, AppliedUndef):
        return _pseudo(expr.func.__name__, tuple(_evaluate(a, point) for a in expr.args))
    if not expr.args:
        return expr
    return expr.func(*[_evaluate(a, point) for a in expr.args])


def _symbols_of(expr: Any) -> set[str]:
    sp = _sympy()
    return {s.name for s in expr.atoms(sp.Symbol)}


def _equal_at_points(a: Any, b: Any) -> bool | None:
    """True: equal at every random point; False: different at one; None: could not be decided."""
    sp = _sympy()
    if a == b:
        return True
    try:
        if sp.expand(a - b) == 0:
            return True
    except Exception:
        pass
    names = sorted(_symbols_of(a) | _symbols_of(b))
    rng = random.Random("|".join(names))
    decided = 0
    for _ in range(_POINTS * 2):
        point = {n: sp.Rational(rng.randint(7, 97), rng.randint(11, 53)) for n in names}
        try:
            va, vb = _evaluate(a, point), _evaluate(b, point)
            d = sp.N(va - vb, 40)
            scale = abs(sp.N(va, 40)) + abs(sp.N(vb, 40)) + 1
        except Exception:
            continue
        if not (d.is_number and scale.is_number) or d.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            if va == vb:
                decided += 1
                if decided >= _POINTS:
                    return True
            continue
        if abs(d) > sp.Float(10) ** -25 * scale:
            return False
        decided += 1
        if decided >= _POINTS:
            return True
    return None


def _symbolic_verdict(pp: _Parsed, pc: _Parsed) -> str | None:
    """None when the two are the same equation; else what differs, in words."""
    ep, ec = pp.relations.count(",") + 1, pc.relations.count(",") + 1
    if ep != ec:
        return (f"the page has {ep} equation{'s' if ep > 1 else ''} (separated by commas) where the catalogue "
                f"has {ec}")
    if len(pp.sides) != len(pc.sides):
        return (f"the page has {len(pp.sides)} side{'s' if len(pp.sides) > 1 else ''} where the catalogue "
                f"has {len(pc.sides)}")
    if pp.relations != pc.relations:
        diffs = [f"«{a}» where the catalogue has «{b}»" for a, b in zip(pp.relations, pc.relations) if a != b]
        return "the relation: the page has " + "; ".join(diffs)
    notes = []
    for k, (a, b) in enumerate(zip(pp.sides, pc.sides)):
        side = _side_name(k, len(pp.sides))
        same = _equal_at_points(a, b)
        if same is True and pp.orders[k] == pc.orders[k]:
            continue
        if same is True:
            notes.append(f"the order of the non-commuting factors in the {side}: "
                         + _order_difference(pp.orders[k], pc.orders[k]))
            continue
        notes.append(_explain_side(a, b, side))
    return "; ".join(notes) if notes else None


def _side_name(k: int, n: int) -> str:
    if n == 1:
        return "expression"
    if n == 2:
        return ("left", "right")[k] + " side"
    return {0: "first", 1: "second", 2: "third", 3: "fourth"}.get(k, f"{k + 1}th") + " side"


def _order_difference(a: Counter, b: Counter) -> str:
    only_a = [" ".join(r) for r in (a - b).elements()]
    only_b = [" ".join(r) for r in (b - a).elements()]
    return f"the page has {', '.join(only_a) or 'nothing'} where the catalogue has {', '.join(only_b) or 'nothing'}"


def _pretty(name: str) -> str:
    """A symbol's or function's LaTeX name made readable: ``D_{\\mathrm{KL}}`` -> ``D_KL``."""
    name = re.sub(r"\\mathrm\{([^{}]*)\}", r"\1", name)
    name = re.sub(r"_\{([A-Za-z0-9]+)\}", r"_\1", name)
    return name


def _show_expr(expr: Any, limit: int = 120) -> str:
    """An expression printed for a message: names readable, applications with their separators."""
    sp = _sympy()
    from sympy.core.function import AppliedUndef

    expr = _thaw(expr)
    reps = {}
    for f in sorted(expr.atoms(AppliedUndef), key=lambda f: -len(str(f))):
        reps[f] = sp.Symbol(_show_application(f))
    text = _pretty(sp.sstr(expr.xreplace(reps) if reps else expr))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _show_application(f: Any) -> str:
    name = f.func.__name__
    opener, closer = "(", ")"
    if name in ("()", "[]"):
        name, opener, closer = "", name[0], name[1]
    elif name.endswith("[]"):
        name, opener, closer = name[:-2], "[", "]"
    parts: list[str] = []
    for a in f.args:
        text = a.name if getattr(a, "name", None) in _ARG_MARKERS.values() else _show_expr(a)
        if text in _ARG_MARKERS.values():
            parts.append(f" {text} ")
        else:
            if parts and not parts[-1].endswith(" "):
                parts.append(", ")
            parts.append(text)
    return _pretty(name) + opener + "".join(parts).strip() + closer


def _explain_side(a: Any, b: Any, side: str) -> str:
    """What differs between two sides that are not the same expression: swapped arguments, a renamed
    symbol, a factor, a sign, a term, followed through the functions the two have in common."""
    sp = _sympy()
    from sympy.core.function import AppliedUndef

    swapped = _swapped(a, b)
    if swapped:
        return swapped
    path: list[str] = []
    for _ in range(12):  # follow a common outer function down to where the two differ
        if (isinstance(a, AppliedUndef) and isinstance(b, AppliedUndef) and a.func == b.func
                and len(a.args) == len(b.args)):
            differing = [(x, y) for x, y in zip(a.args, b.args) if x != y]
            if len(differing) == 1:
                path.append(_pretty(a.func.__name__).rstrip("[]") or "the brackets")
                a, b = differing[0]
                continue
        if isinstance(a, sp.Mul) and isinstance(b, sp.Mul):
            fa, fb = Counter(a.args), Counter(b.args)
            ra, rb = list((fa - fb).elements()), list((fb - fa).elements())
            if (len(ra) == 1 and len(rb) == 1 and isinstance(ra[0], AppliedUndef) and isinstance(rb[0], AppliedUndef)
                    and ra[0].func == rb[0].func):
                a, b = ra[0], rb[0]
                continue
        if type(a) is type(b) and a.func in (sp.exp, sp.log, sp.tanh) and len(a.args) == len(b.args) == 1:
            path.append(a.func.__name__)
            a, b = a.args[0], b.args[0]
            continue
        break
    where = ""
    if path:  # side: the innermost argument; where: the functions around it
        side = f"argument of {path[-1]}"
        where = (" (within " + ", within ".join(reversed(path[:-1])) + ")") if len(path) > 1 else ""
    renamed = _renamed_function(a, b)
    if renamed:
        return renamed + (f" (in the {side}{where[1:-1] and ', ' + where[2:-1]})" if path else "")
    only_a, only_b = _symbols_of(a) - _symbols_of(b), _symbols_of(b) - _symbols_of(a)
    if len(only_a) == 1 and len(only_b) == 1:
        x, y = only_a.pop(), only_b.pop()
        renamed = a.xreplace({sp.Symbol(x): sp.Symbol(y)})
        if _equal_at_points(renamed, b):
            return f"a symbol: the page has {_pretty(x)} where the catalogue has {_pretty(y)}{where}"
    if not only_a and not only_b:
        names = sorted(_symbols_of(a))
        if len(names) <= 12:
            for k, x in enumerate(names):
                for y in names[k + 1:]:
                    sx, sy = sp.Symbol(x), sp.Symbol(y)
                    if _equal_at_points(a.xreplace({sx: sy, sy: sx}), b):
                        return (f"two symbols exchanged: the page has {_pretty(x)} where the catalogue has "
                                f"{_pretty(y)}, and the other way round{where}")
    common = _symbols_of(a) & _symbols_of(b)
    allowed = common | {_FROZEN_PREFIX + _show_application(f) for f in a.atoms(AppliedUndef) & b.atoms(AppliedUndef)}
    for word in ("ratio", "difference"):
        try:
            raw = _freeze(a) / _freeze(b) if word == "ratio" else _freeze(a) - _freeze(b)
            value = _small(sp.powsimp(sp.cancel(raw))) if sp.count_ops(raw) <= 60 else None
        except Exception:
            value = None
        if value is None or not {s.name for s in value.free_symbols} <= allowed:
            continue
        if word == "ratio" and value != 1:
            if value == -1:
                return f"a sign: the page's {side} is the negative of the catalogue's{where}"
            if value.is_number:
                return (f"a factor: the page has {sp.sstr(value)} where the catalogue has 1 (the page's {side} is "
                        f"{sp.sstr(value)} times the catalogue's){where}")
            return f"a factor: the page's {side} is the catalogue's times {_show_expr(value)}{where}"
        if word == "difference" and value != 0:
            if value.could_extract_minus_sign():
                return f"a term: the page's {side} is the catalogue's minus {_show_expr(-value)}{where}"
            return f"a term: the page's {side} is the catalogue's plus {_show_expr(value)}{where}"
    return (f"a different {side}{where}: the page has {_show_expr(a, 80)}, the catalogue "
            f"{_show_expr(b, 80)}")


_FROZEN_PREFIX = "⟨f⟩"


def _freeze(expr: Any) -> Any:
    """Undefined function applications as symbols, for ratios and differences."""
    sp = _sympy()
    from sympy.core.function import AppliedUndef

    reps = {f: sp.Symbol(_FROZEN_PREFIX + _show_application(f)) for f in expr.atoms(AppliedUndef)}
    return expr.xreplace(reps)


def _thaw(expr: Any) -> Any:
    sp = _sympy()
    reps = {s: sp.Symbol(s.name[len(_FROZEN_PREFIX):]) for s in expr.free_symbols
            if s.name.startswith(_FROZEN_PREFIX)}
    return expr.xreplace(reps)


def _small(expr: Any) -> Any:
    sp = _sympy()
    return expr if sp.count_ops(expr) <= 6 else None


def _renamed_function(a: Any, b: Any) -> str | None:
    """One function written under another name (``P`` for ``\\hat{P}``), everything else the same."""
    from sympy.core.function import AppliedUndef

    fa = {f.func for f in a.atoms(AppliedUndef)}
    fb = {f.func for f in b.atoms(AppliedUndef)}
    only_a, only_b = fa - fb, fb - fa
    if len(only_a) == 1 and len(only_b) == 1:
        f, g = only_a.pop(), only_b.pop()
        if _equal_at_points(a.replace(f, g), b):
            return (f"a function: the page has {_pretty(f.__name__).rstrip('[]')} where the catalogue has "
                    f"{_pretty(g.__name__).rstrip('[]')}")
    return None


def _swapped(a: Any, b: Any) -> str | None:
    from sympy.core.function import AppliedUndef

    fa = {f for f in a.atoms(AppliedUndef)}
    fb = {f for f in b.atoms(AppliedUndef)}
    for f in sorted(fa - fb, key=str):
        for g in sorted(fb - fa, key=str):
            if f.func == g.func and f.args != g.args and Counter(f.args) == Counter(g.args):
                name = _pretty(f.func.__name__).rstrip("[]") or "the brackets"
                return (f"the arguments of {name} are swapped: the page has {_show_application(f)} where the "
                        f"catalogue has {_show_application(g)}")
    return None


# --------------------------------------------------------------------------------------------------
# Locating a catalogue equation among a page's displays
# --------------------------------------------------------------------------------------------------

_ALIGNED = re.compile(r"\\begin\{(aligned|align\*?|gathered|gather\*?|split|eqnarray\*?|multline\*?|alignedat)\}"
                      r"(?:\{\d+\})?(.*?)\\end\{\1\}", re.S)
_SEPARATOR_CMDS = {r"\quad", r"\qquad", r"\\"}


def display_parts(latex: str) -> list[tuple[int, str]]:
    """The parts of a display that may each be an equation, as (lines after the display's first line,
    LaTeX): the rows of an aligned environment (``&`` dropped) and of the display (``\\\\`` at the top level,
    outside environments and braces), each cut again at a top-level ``\\quad``/``\\qquad`` (the comma
    before it stays with the part; normalisation drops it). The whole display is not among them."""
    text = latex
    m = _ALIGNED.search(text)
    if m and not text[:m.start()].strip() and not text[m.end():].strip().strip(".,"):
        text = re.sub(r"[^\n]", " ", text[:m.start(2)]) + m.group(2).replace("&", " ")
    parts: list[tuple[int, int]] = []
    depth = env = 0
    start = 0
    for tm in _TOKEN.finditer(text):
        tok = tm.group()
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
        elif tok == r"\begin":
            env += 1
        elif tok == r"\end":
            env -= 1
        elif tok in _SEPARATOR_CMDS and depth == 0 and env == 0:
            parts.append((start, tm.start()))
            start = tm.end()
    parts.append((start, len(text)))
    out = []
    for s, e in parts:
        piece = text[s:e]
        if not piece.strip() or not latex_tokens(normalise_latex(piece)):
            continue
        lead = len(piece) - len(piece.lstrip())
        out.append((text.count("\n", 0, s + lead), piece.strip()))
    return out


def _content_line(line: int, latex: str) -> int:
    """The line of a display's first non-blank character, given the line its span starts on."""
    lead = len(latex) - len(latex.lstrip())
    return line + latex.count("\n", 0, lead)


_TERM_EDGE = {"=", "+", "-", ",", ";", r"\approx", r"\le", r"\ge", "<", ">", r"\ne", r"\\", "&", r"\quad",
              r"\qquad"}


def _contained(cat_tokens: list[str], display_tokens: list[str]) -> bool:
    """Is the catalogue's normalised LaTeX a whole term of the display's: a contiguous run of its tokens
    that starts and ends at the display's ends, a relation, ``+``/``-`` or a separator?"""
    n = len(cat_tokens)
    if n < 3 or n >= len(display_tokens):
        return False
    for s in range(len(display_tokens) - n + 1):
        if display_tokens[s:s + n] != cat_tokens:
            continue
        before = display_tokens[s - 1] if s else None
        after = display_tokens[s + n] if s + n < len(display_tokens) else None
        if (before is None or before in _TERM_EDGE) and (after is None or after in _TERM_EDGE | {"."}):
            return True
    return False


_RANK = {"identical": 0, "normalised": 1, "symbolic": 2}



_NUMBER_TOKEN = re.compile(r"(?<![A-Za-z_\\])\d+(?:\.\d+)?")


def result_slots(latex: str) -> str | None:
    """A worked display's LaTeX with the numbers it prints after its first ``\\approx`` (the computed
    results, e.g. ``-\\log(0.1) \\approx 2.302``) made slots, or None when nothing numeric follows one. Those
    numbers are worked numbers, judged as claims (and accounted for) with their examples: correcting one is
    not a change of the equation."""
    k = latex.find(r"\approx")
    if k < 0:
        return None
    tail = latex[k:]
    out, pos = [], 0
    for m in _NUMBER_TOKEN.finditer(tail):
        if _in_script(tail, m.start()):
            continue  # an index (w_{t-n+1}, x^2) is part of the equation, not a result
        out += [tail[pos:m.start()], r"\square"]
        pos = m.end()
    slotted = "".join(out) + tail[pos:]
    return None if slotted == tail else latex[:k] + slotted


def _in_script(text: str, at: int) -> bool:
    """Whether position ``at`` of ``text`` is in a sub- or superscript (``_1``, ``^{t-1}``)."""
    if at > 0 and text[at - 1] in "_^":
        return True
    depth_scripts: list[bool] = []
    for i, ch in enumerate(text[:at]):
        if ch == "{":
            depth_scripts.append(i > 0 and text[i - 1] in "_^")
        elif ch == "}" and depth_scripts:
            depth_scripts.pop()
    return any(depth_scripts)


def locate_equation(catalogue_latex: str, displays: list[tuple[int, str]], recorded_line: int
                    ) -> tuple[int | None, EquationMatch | None, tuple[int, str] | None]:
    """Where the catalogue's equation is among a page's displays ``(line, latex)``.

    Every display is tried whole and in its parts (:func:`display_parts`), and the catalogue's LaTeX as a
    whole term of a display (``\\lambda_3 P_{tri}(...)`` of a sum). Returns ``(line, match, None)`` for the
    match nearest ``recorded_line`` (the line of the part; ties go to the closer form: identical, then
    normalised, then symbolic), else ``(None, match, (line, latex))``: the candidate whose normalised
    LaTeX most resembles the catalogue's (difflib), and :func:`compare` of it, which says what differs;
    ``(None, None, None)`` when the page has no display."""
    slotted = result_slots(catalogue_latex)
    if slotted is not None:  # a worked display: the same equation whatever results it prints after the approx
        line, match, _ = _locate_equation([(ln, result_slots(d) or d) for ln, d in displays], slotted, recorded_line)
        if line is not None and match is not None:
            return line, EquationMatch(True, match.how, match.detail + "; the results printed after the approx "
                                       "sign are worked numbers, judged as claims"), None
    return _locate_equation(displays, catalogue_latex, recorded_line)


def _locate_equation(displays: list[tuple[int, str]], catalogue_latex: str, recorded_line: int
                     ) -> tuple[int | None, EquationMatch | None, tuple[int, str] | None]:
    candidates: list[tuple[int, str]] = []
    for line, latex in displays:
        candidates.append((_content_line(line, latex), latex.strip()))
        parts = display_parts(latex)
        if len(parts) > 1:
            candidates += [(line + offset, part) for offset, part in parts]
    if not candidates:
        return None, None, None
    cat_norm = normalise_latex(catalogue_latex)
    cat_tokens = latex_tokens(cat_norm)
    found: list[tuple[int, int, int, EquationMatch]] = []
    for line, latex in candidates:
        if _squash(latex) == _squash(catalogue_latex):
            found.append((abs(line - recorded_line), 0, line, compare(latex, catalogue_latex)))
        elif normalise_latex(latex) == cat_norm:
            found.append((abs(line - recorded_line), 1, line, compare(latex, catalogue_latex)))
    if not found:  # a whole term of a display
        for line, latex in displays:
            if _contained(cat_tokens, latex_tokens(normalise_latex(latex))):
                how = "identical" if _squash(catalogue_latex) in _squash(latex) else "normalised"
                line = _content_line(line, latex)
                found.append((abs(line - recorded_line), _RANK[how], line,
                              EquationMatch(True, how, "a term of the display, not the whole of it")))
    if found:
        _, _, line, match = min(found, key=lambda f: (f[0], f[1]))
        return line, match, None
    # no form-only match: rank by resemblance, try the closest ones symbolically
    ranked = sorted(candidates, key=lambda c: (-_resemblance(c[1], cat_norm), abs(c[0] - recorded_line)))
    best = ranked[0]
    tries = [c for c in ranked[:3] if c == best or _resemblance(c[1], cat_norm) >= 0.6]
    for line, latex in sorted(tries, key=lambda c: abs(c[0] - recorded_line)):
        match = compare(latex, catalogue_latex)
        if match.same:
            return line, match, None
    return None, compare(best[1], catalogue_latex), best


def _resemblance(latex: str, cat_norm: str) -> float:
    return difflib.SequenceMatcher(None, normalise_latex(latex), cat_norm, autojunk=False).ratio()
