"""Declared conventions: how a student's function is shaped, and the exact conversions the suite makes for it.

Real solutions of course assignments take ``(N, D)`` batches only, keep weights as ``(in, out)``, fuse the four
LSTM gates into one matrix in their own order, return ``(out, cache)``, count in bits, return a loss where the
suite's equation is a log-likelihood, or are classes with a ``forward``. Instead of an adapter, the student's
module (or a small file next to it that imports it) declares what its functions do::

    from rnn_layers import *          # the student's own file, unchanged

    LMVERIFY = {
        "rnn_cell": dict(use="rnn_step_forward", params=["x", "h_prev", "W_xh", "W_hh", "b"],
                         weights="transposed", batch="one", returns=0),
    }

or, on a function in the student's own file, ``@lmverify.students.declare("rnn_cell", batch="one", ...)``.
``LMVERIFY["*"]`` gives options shared by every function the dictionary declares (``DEFAULT_OPTIONS``; each applies
only where it can: batch to functions with batch axes, gates to the LSTM and GRU, ...).

Every conversion is exact: a reshape of leading batch axes, a transpose, a stack of the per-gate matrices in a
named order, a choice among the returned values, a change of units (a product by ln 2) or of sign, a dtype or
array-library change that keeps float64. Nothing can hide a mistake in the student's own arithmetic: the
numbers compared are the student's numbers. An input the declared conventions cannot express (a bias to a
function that takes none, a fully masked row where the declared behaviour is not what the student returned)
is "not covered" for that example (:class:`NotSupported`), never converted approximately.

The options (``OPTIONS`` lists them with their values; an unknown key or value is a named error):

``use``      the student's function or class (its name in the module, or the object); default: the suite's name.
``params``   a dict renaming the suite's parameters to the student's (``{"h_prev": "prev_h"}``; ``None`` drops
             one), or a list giving the student's positional order in the suite's names (a tuple of names is
             passed as one tuple). A parameter the student's code does not take is left out only where the suite
             passes its default, ``None``, zeros for a bias or an initial state, or a keep-mask that keeps
             everything; other inputs are not covered. A weight matrix left out is a declaration error.
``const``    a dict of fixed values for the student's own parameters (``{"dim": -1}``), checked against its
             signature.
``only``     a dict {suite parameter: the one value the student's code handles}; other values not covered.
``batch``    ``"any"`` (default: any number of leading axes, none included), ``"required"`` (at least one:
             an unbatched input gets an axis of 1), ``"one"`` (exactly one: leading axes flattened into N),
             ``"none"`` (unbatched only: the suite loops over the batch and stacks the results).
``time_major`` sequences as ``(T, N, D)`` instead of ``(N, T, D)`` (with ``batch="one"``); ``True``: results
             whose first axes are (T, N) come back batch first (a batch-first result is then a named error);
             ``"inputs"``: only the inputs are time-major.
``weights``  ``"left"`` (default: the suite's layout, printed in ``lmverify starter``) or ``"transposed"``
             (every weight matrix, a parameter whose name starts with ``W``, is given transposed).
``transpose`` a list of parameter names given transposed (instead of all of them).
``gates``    fused LSTM/GRU gates in a named order: letters ``i f g o`` for the LSTM (``g`` or ``c`` the
             candidate), ``z r n`` for the GRU (``n`` or ``h`` the candidate); e.g. ``"ifog"`` (CS231n) or
             ``"ifgo"`` (PyTorch). The per-gate parameters are replaced by ``W`` (all gates on ``[h; x]``),
             ``W_h`` and ``W_x`` (the hidden and input parts), ``W_xh`` (on ``[x; h]``), ``b`` and ``b_h`` (a
             second, zero bias for layouts with two, as PyTorch's ``bias_ih``/``bias_hh``), each with the gates
             stacked on the first axis, as PyTorch's ``weight_ih`` (``(4 d_h, d_x)``).
``returns``  which returned value(s) to compare: an index, a key or attribute name, a dotted path (``"1.0"``),
             or a tuple of these.
``units``    ``"bits"`` or ``"nats"``: the unit of an information quantity the student returns (the suite's
             ``base`` is then not passed; the result is converted to the base the suite asked for).
``sign``     ``"negated"``: the student returns the negative (a loss where the suite has a log-likelihood).
``masked_rows`` ``"zeros"`` (default), ``"nan"`` (PyTorch's ``F.scaled_dot_product_attention`` and
             ``softmax`` of an all ``-inf`` row) or ``"uniform"`` (a ``-1e9`` fill): what the student returns for
             a fully masked row; such rows are then compared as the suite's zeros once they are checked to be
             exactly what was declared.
``array``    ``"numpy"`` or ``"torch"``: what the function takes (instead of ``--impl-array`` for the module).
``init``, ``set``, ``method``  for a class: ``init`` maps the constructor's parameters to sizes written over the
             suite's inputs (``{"input_size": "x.shape[-1]", "hidden_size": "h_prev.shape[-1]"}``) or to fixed
             values (anything but a string; a suite parameter read there is not lost), ``set`` maps
             attributes (dotted: ``"cell.weight_ih"``) to the suite's (converted) parameters, ``method`` is the
             method to call (default ``forward``, else ``__call__``). A ``torch.nn.Module`` is put in eval mode
             (dropout off), in the inputs' dtype, and called without gradients.
"""

from __future__ import annotations

import ast
import inspect
import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

#: the name of the module-level dictionary a student's module declares its conventions in
DECLARATION = "LMVERIFY"


class NotSupported(Exception):
    """Raised by a student's function (or by the conventions) for an input it does not handle: that example is
    counted as "not covered" and reported, never a failure nor a skip of the whole test."""


class ConventionError(ValueError):
    """A declaration the suite cannot use: names the function, the key and what was expected."""


OPTIONS: dict[str, str] = {
    "use": "the student's function or class (a name in the module, or the object)",
    "params": "a dict {suite name: student name or None} or a list (the student's positional order, suite names; "
              "a tuple of names is passed as one tuple, as nn.LSTMCell's (h, c))",
    "batch": "'any', 'required', 'one' or 'none'",
    "time_major": "True (inputs and results (T, N, ...)), 'inputs' (results batch first) or False",
    "weights": "'left' or 'transposed'",
    "transpose": "a list of the suite's parameter names",
    "gates": "a gate order such as 'ifog' or 'ifgo' (LSTM: i f g o; GRU: z r n)",
    "returns": "an index, a name, a dotted path, or a tuple of these",
    "units": "'bits' or 'nats'",
    "sign": "'negated' (or 'same')",
    "masked_rows": "'zeros', 'nan' or 'uniform'",
    "array": "'numpy' or 'torch'",
    "init": "a dict {constructor parameter: size over the suite's inputs, e.g. 'x.shape[-1]'}",
    "set": "a dict {attribute path: the suite's parameter}",
    "method": "the method of the class to call (default forward)",
    "const": "a dict {your parameter: a fixed value} passed on every call (e.g. {'dim': -1})",
    "only": "a dict {suite parameter: the one value your code handles}; other inputs are not covered",
}

#: the core rank of each batched parameter (the axes after the leading batch axes), per suite function
BATCHED: dict[str, dict[str, int]] = {
    # recurrent
    "rnn_cell": {"x": 1, "h_prev": 1}, "rnn_forward": {"xs": 2, "h0": 1}, "rnn_next_token_probs": {"h": 1},
    "lstm_gates": {"x": 1, "h_prev": 1, "c_prev": 1}, "lstm_cell": {"x": 1, "h_prev": 1, "c_prev": 1},
    "lstm_forward": {"xs": 2, "h0": 1, "c0": 1},
    "gru_gates": {"x": 1, "h_prev": 1}, "gru_cell": {"x": 1, "h_prev": 1}, "gru_forward": {"xs": 2, "h0": 1},
    "lstm_forget_gate": {"x": 1, "h_prev": 1}, "lstm_input_gate": {"x": 1, "h_prev": 1},
    "lstm_candidate": {"x": 1, "h_prev": 1}, "lstm_output_gate": {"x": 1, "h_prev": 1},
    "lstm_cell_update": {"f": 1, "c_prev": 1, "i": 1, "c_tilde": 1}, "lstm_hidden": {"o": 1, "c": 1},
    "gru_update_gate": {"x": 1, "h_prev": 1}, "gru_reset_gate": {"x": 1, "h_prev": 1},
    "gru_candidate": {"x": 1, "h_prev": 1, "r": 1}, "gru_interpolate": {"h_prev": 1, "z": 1, "h_tilde": 1},
    "feedforward_lm": {"es": 2}, "reverse_time": {"xs": 2},
    "bidirectional_concat": {"hs_forward": 2, "hs_backward": 2},
    # attention
    "softmax": {"z": 1}, "dot_product_scores": {"Q": 2, "K": 2},
    "scaled_dot_product_attention": {"Q": 2, "K": 2, "V": 2, "mask": 2},
    "multi_head_attention": {"X_q": 2, "X_kv": 2, "mask": 2}, "causal_masked_scores": {"Z": 2},
    "linear_attention": {"Q": 2, "K": 2, "V": 2}, "flash_attention": {"Q": 2, "K": 2, "V": 2},
    # seq2seq
    "context_vector": {"hs_enc": 2}, "decoder_forward": {"ys_prev": 2, "c": 1},
    "output_distribution": {"h_dec": 1}, "alignment_weights": {"e": 1, "mask": 1},
    "context_from_weights": {"alpha": 1, "h_enc": 2}, "bahdanau_attention": {"h_enc": 2, "s_prev": 1, "mask": 1},
    "luong_general_score": {"h_dec": 1, "h_enc": 2}, "luong_dot_score": {"h_dec": 1, "h_enc": 2},
    "luong_concat_score": {"h_dec": 1, "h_enc": 2}, "sequence_log_likelihood": {"logits": 2, "targets": 1},
    "encoder_decoder_distributions": {"hs_enc": 2, "ys_prev": 2},
    # embeddings
    "skipgram_softmax": {"v_I": 1}, "cosine_similarity": {"u": 1, "v": 1},
    # information: distributions over the last axis
    "entropy": {"p": 1}, "cross_entropy": {"p": 1, "q": 1}, "kl_divergence": {"p": 1, "q": 1},
    "reverse_kl_divergence": {"p": 1, "q": 1}, "jensen_shannon_divergence": {"p": 1, "q": 1},
    "cross_entropy_gradient": {"p": 1, "logits": 1}, "kl_divergence_gradient": {"p": 1, "logits": 1},
    "average_nll": {"q_true": 1},
    "mutual_information": {"pxy": 2}, "conditional_entropy": {"pxy": 2},
    "mutual_information_from_entropies": {"pxy": 2},
}

#: the gates of the fused recurrent cells: suite parameter of each letter's matrix and bias
_LSTM_GATES = {"i": ("W_i", "b_i"), "f": ("W_f", "b_f"), "g": ("W_c", "b_c"), "c": ("W_c", "b_c"),
               "o": ("W_o", "b_o")}
_GRU_GATES = {"z": ("W_z", "b_z"), "r": ("W_r", "b_r"), "n": ("W", "b"), "h": ("W", "b")}
_FUSED = {"lstm_gates": _LSTM_GATES, "lstm_cell": _LSTM_GATES, "lstm_forward": _LSTM_GATES,
          "gru_gates": _GRU_GATES, "gru_cell": _GRU_GATES, "gru_forward": _GRU_GATES}
_FUSED_FORMS = {"W", "W_h", "W_x", "W_xh", "b_h"}
_HIDDEN = {"lstm_gates": "h_prev", "lstm_cell": "h_prev", "lstm_forward": "h0",
           "gru_gates": "h_prev", "gru_cell": "h_prev", "gru_forward": "h0"}

#: the functions whose result is an information quantity (what ``units`` converts)
INFORMATION_QUANTITIES = frozenset({
    "entropy", "cross_entropy", "kl_divergence", "reverse_kl_divergence", "average_nll", "mutual_information",
    "conditional_entropy", "mutual_information_from_entropies", "jensen_shannon_divergence",
    "sequence_loss", "sequence_log_likelihood", "skipgram_log_likelihood", "cbow_log_likelihood",
    "negative_sampling_objective", "cross_entropy_bits",
})

#: the functions with rows that may be fully masked: (the parameter that says which, how)
MASKED: dict[str, tuple[str, str]] = {
    "softmax": ("z", "all -inf"),
    "scaled_dot_product_attention": ("mask", "keep-mask"),
    "multi_head_attention": ("mask", "keep-mask"),
    "alignment_weights": ("mask", "keep-mask"),
    "bahdanau_attention": ("mask", "keep-mask"),
}


def declare(name: str, **options: Any) -> Callable[[Any], Any]:
    """Decorator: ``@declare("rnn_cell", batch="one", returns=0)`` on the student's function (or class) says
    that it implements the suite's ``name`` with these conventions (the options of :data:`OPTIONS`)."""

    def mark(obj: Any) -> Any:
        found = dict(getattr(obj, "__lmverify__", {}))
        found[name] = dict(options)
        try:
            obj.__lmverify__ = found
        except (AttributeError, TypeError):
            raise ConventionError(f"declare({name!r}): cannot mark {obj!r}; declare it in the module's "
                                  f"{DECLARATION} dictionary instead") from None
        return obj

    return mark


@dataclass
class Convention:
    """The checked declaration of one suite function (see the module docstring for each option)."""

    name: str
    use: Any = None
    params: dict[str, str | None] | list[str] | None = None
    batch: str = "any"
    time_major: bool | str = False
    weights: str = "left"
    transpose: tuple[str, ...] = ()
    gates: str | None = None
    returns: Any = None
    units: str | None = None
    sign: str = "same"
    masked_rows: str = "zeros"
    array: str | None = None
    init: dict[str, str] = field(default_factory=dict)
    set: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    const: dict[str, Any] = field(default_factory=dict)
    only: dict[str, Any] = field(default_factory=dict)

    @property
    def is_identity(self) -> bool:
        return self == Convention(self.name, use=self.use)


def _fail(name: str, key: str, value: Any, expected: str) -> ConventionError:
    return ConventionError(f"{DECLARATION}[{name!r}][{key!r}] = {value!r}: expected {expected}")


def parse(name: str, options: Any, where: str = DECLARATION) -> Convention:
    """A declaration checked key by key; :class:`ConventionError` names the first problem."""
    if not isinstance(options, dict):
        raise ConventionError(f"{where}[{name!r}]: expected a dict of options ({', '.join(OPTIONS)}), "
                              f"got {type(options).__name__}")
    unknown = [k for k in options if k not in OPTIONS]
    if unknown:
        raise ConventionError(f"{where}[{name!r}]: unknown option {unknown[0]!r}; expected one of "
                              f"{', '.join(OPTIONS)}")
    conv = Convention(name)
    for key, value in options.items():
        if key == "use":
            if not (isinstance(value, str) or callable(value)):
                raise _fail(name, key, value, OPTIONS[key])
        elif key == "params":
            if isinstance(value, dict):
                if not all(isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in value.items()):
                    raise _fail(name, key, value, OPTIONS[key])
            elif isinstance(value, (list, tuple)):
                if not all(isinstance(v, str) or (isinstance(v, tuple) and v and all(isinstance(w, str) for w in v))
                           for v in value):
                    raise _fail(name, key, value, OPTIONS[key])
                value = list(value)
            else:
                raise _fail(name, key, value, OPTIONS[key])
        elif key == "batch" and value not in ("any", "required", "one", "none"):
            raise _fail(name, key, value, OPTIONS[key])
        elif key == "time_major" and not (isinstance(value, bool) or value == "inputs"):
            raise _fail(name, key, value, OPTIONS[key])
        elif key == "weights" and value not in ("left", "transposed"):
            raise _fail(name, key, value, OPTIONS[key])
        elif key == "transpose":
            if isinstance(value, str) or not all(isinstance(v, str) for v in value):
                raise _fail(name, key, value, OPTIONS[key])
            value = tuple(value)
        elif key == "gates":
            table = _FUSED.get(name)
            if table is None:
                raise ConventionError(f"{where}[{name!r}]['gates']: {name} has no gates to fuse (gates apply to "
                                      f"{', '.join(sorted(_FUSED))})")
            gates = {v[0] for v in table.values()}
            letters = "i f g o (g or c the candidate)" if name.startswith("lstm") else "z r n (n or h the candidate)"
            if (not isinstance(value, str) or len(value) != len(gates) or any(c not in table for c in value)
                    or {table[c][0] for c in value} != gates):
                raise _fail(name, key, value, f"each gate once, in your order, as letters {letters}")
        elif key == "returns":
            if not _valid_returns(value):
                raise _fail(name, key, value, OPTIONS[key])
        elif key == "units":
            if value not in ("bits", "nats"):
                raise _fail(name, key, value, OPTIONS[key])
            if name not in INFORMATION_QUANTITIES:
                raise ConventionError(f"{where}[{name!r}]['units']: {name} does not return an information "
                                      f"quantity; units apply to {', '.join(sorted(INFORMATION_QUANTITIES))}")
        elif key == "sign" and value not in ("negated", "same"):
            raise _fail(name, key, value, OPTIONS[key])
        elif key == "masked_rows":
            if value not in ("zeros", "nan", "uniform"):
                raise _fail(name, key, value, OPTIONS[key])
            if value != "zeros" and name not in MASKED:
                raise ConventionError(f"{where}[{name!r}]['masked_rows']: {name} has no masked rows; the option "
                                      f"applies to {', '.join(MASKED)}")
        elif key == "array" and value not in ("numpy", "torch"):
            raise _fail(name, key, value, OPTIONS[key])
        elif key in ("init", "set"):
            if not isinstance(value, dict) or not all(isinstance(k, str) and (isinstance(v, str) or key == "init")
                                                      for k, v in value.items()):
                raise _fail(name, key, value, OPTIONS[key])
            if key == "init":  # a string is a size over the inputs; anything else a fixed value
                for k, v in value.items():
                    if isinstance(v, str):
                        _size_expression(v, f"{where}[{name!r}]['init'][{k!r}]")
        elif key in ("const", "only"):
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise _fail(name, key, value, OPTIONS[key])
        elif key == "method" and not isinstance(value, str):
            raise _fail(name, key, value, OPTIONS[key])
        setattr(conv, key, value)
    if conv.batch != "any" and name not in BATCHED:
        raise ConventionError(f"{where}[{name!r}]['batch'] = {conv.batch!r}: {name}'s inputs have no batch axes "
                              "(leave batch out)")
    if conv.time_major and conv.batch != "one":
        raise ConventionError(f"{where}[{name!r}]['time_major']: needs batch='one' (sequences as (T, N, D))")
    return conv


def _valid_returns(value: Any, depth: int = 0) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, str)):
        return True
    if isinstance(value, tuple) and depth == 0 and value:
        return all(_valid_returns(v, 1) for v in value)
    return False


#: the key of ``LMVERIFY`` whose options apply to every function the dictionary declares
DEFAULTS = "*"
#: the options ``LMVERIFY["*"]`` may give (the shape of a whole module's code; names and values stay per function)
DEFAULT_OPTIONS = ("batch", "time_major", "weights", "gates", "returns", "units", "sign", "masked_rows", "array")


def _defaults_for(name: str, defaults: Any) -> dict[str, Any]:
    """The shared options of ``LMVERIFY["*"]`` that apply to ``name`` (batch only to functions with batch axes,
    gates only to the LSTM and GRU, units only to information quantities, masked_rows only where rows can be
    masked): a module of (N, D) code with weights as (in, out) says so once."""
    if defaults is None:
        return {}
    if not isinstance(defaults, dict):
        raise ConventionError(f"{DECLARATION}[{DEFAULTS!r}]: expected a dict of shared options "
                              f"({', '.join(DEFAULT_OPTIONS)}), got {type(defaults).__name__}")
    wrong = [k for k in defaults if k not in DEFAULT_OPTIONS]
    if wrong:
        raise ConventionError(f"{DECLARATION}[{DEFAULTS!r}]: {wrong[0]!r} cannot be shared; shared options are "
                              f"{', '.join(DEFAULT_OPTIONS)} (give it in {DECLARATION}[{name!r}])")
    applies = {"batch": name in BATCHED, "time_major": name in BATCHED, "gates": name in _FUSED,
               "units": name in INFORMATION_QUANTITIES, "masked_rows": name in MASKED}
    return {k: v for k, v in defaults.items() if applies.get(k, True)}


def declared(module: Any, name: str) -> Convention | None:
    """The module's declaration for the suite function ``name`` (its ``LMVERIFY`` dictionary, or a function
    marked with :func:`declare`), checked; None where the module declares nothing for it."""
    table = getattr(module, DECLARATION, None)
    if table is not None:
        if not isinstance(table, dict):
            raise ConventionError(f"{DECLARATION} must be a dict {{suite function name: options}}, got "
                                  f"{type(table).__name__}")
        if name in table:
            own = table[name]
            if not isinstance(own, dict):
                return parse(name, own)  # the named error of a declaration that is not a dict
            return parse(name, {**_defaults_for(name, table.get(DEFAULTS)), **own})
    for attr, obj in list(vars(module).items()):
        marks = getattr(obj, "__lmverify__", None) if callable(obj) else None
        if isinstance(marks, dict) and name in marks:
            conv = parse(name, marks[name], where=f"@declare on {attr}")
            if conv.use is None:
                conv.use = obj
            return conv
    return None


def target(module: Any, conv: Convention) -> Any:
    """The student's object that the declaration names (None where the module has no such name)."""
    if conv.use is None:
        return getattr(module, conv.name, None)
    if isinstance(conv.use, str):
        obj: Any = module
        for part in conv.use.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        return obj
    return conv.use


# -- values: NumPy or torch, converted exactly -----------------------------------------------------------


def _is_torch(a: Any) -> bool:
    return type(a).__module__.startswith("torch")


def _is_array(a: Any) -> bool:
    import numpy as np

    return isinstance(a, np.ndarray) or (_is_torch(a) and hasattr(a, "shape"))


def _swap(a: Any, i: int, j: int) -> Any:
    return a.transpose(i, j) if _is_torch(a) else a.swapaxes(i, j)


def _cat(parts: list[Any], axis: int) -> Any:
    import numpy as np

    if _is_torch(parts[0]):
        return sys.modules["torch"].cat(parts, dim=axis)
    return np.concatenate(parts, axis=axis)


def _stack(parts: list[Any]) -> Any:
    import numpy as np

    if parts and _is_torch(parts[0]):
        return sys.modules["torch"].stack(parts)
    return np.stack([np.asarray(p) for p in parts])


def _zeros_like(a: Any) -> Any:
    import numpy as np

    return sys.modules["torch"].zeros_like(a) if _is_torch(a) else np.zeros_like(a)


def _copy(a: Any) -> Any:
    import numpy as np

    return a.contiguous().clone() if _is_torch(a) else np.array(a, copy=True)


def _broadcast(a: Any, shape: tuple[int, ...]) -> Any:
    import numpy as np

    if _is_torch(a):
        return sys.modules["torch"].broadcast_to(a, shape)
    return np.broadcast_to(a, shape)


def _to_array_library(a: Any, library: str) -> Any:
    import numpy as np

    if library == "torch" and isinstance(a, np.ndarray):
        import torch

        return torch.from_numpy(np.array(a, copy=True))
    if library == "numpy" and _is_torch(a):
        return a.detach().cpu().numpy().copy()
    return a


def _map_arrays(x: Any, f: Callable[[Any], Any]) -> Any:
    """``f`` applied to every array (and float) in a result: a tuple, list or dict of them, or one."""
    if isinstance(x, tuple):
        return tuple(_map_arrays(v, f) for v in x)
    if isinstance(x, list):
        return [_map_arrays(v, f) for v in x]
    if isinstance(x, dict):
        return {k: _map_arrays(v, f) for k, v in x.items()}
    return f(x)


# -- sizes for a class's constructor ---------------------------------------------------------------------

_ALLOWED_NODES = (ast.Expression, ast.Name, ast.Load, ast.Attribute, ast.Subscript, ast.Constant, ast.UnaryOp,
                  ast.USub, ast.BinOp, ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Call)


def _size_expression(text: str, where: str) -> ast.Expression:
    """A size over the suite's inputs: names, ``.shape``, ``[i]``, integers, + - * //, ``len(...)``."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise ConventionError(f"{where} = {text!r}: not an expression (e.g. 'x.shape[-1]')") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES) or (isinstance(node, ast.Attribute) and node.attr != "shape") \
                or (isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id == "len")):
            raise ConventionError(f"{where} = {text!r}: only the inputs' names, .shape, [index], integers, "
                                  "+ - * // and len() may be used")
    return tree


def _size(text: str, values: dict[str, Any], where: str) -> Any:
    tree = _size_expression(text, where)
    try:
        return eval(compile(tree, where, "eval"), {"__builtins__": {"len": len}}, dict(values))  # noqa: S307
    except Exception as exc:  # noqa: BLE001
        raise ConventionError(f"{where} = {text!r}: {type(exc).__name__}: {exc} (the inputs are "
                              f"{', '.join(values)})") from None


# -- the plan: suite call -> student call -> suite result --------------------------------------------------


class Plan:
    """How one suite function is called in the student's code under its declared conventions."""

    def __init__(self, module: Any, conv: Convention, reference: Callable) -> None:
        self.conv, self.module, self.reference = conv, module, reference
        self.obj = target(module, conv)
        self.signature = inspect.signature(reference)
        if self.obj is None:
            if conv.use is None:
                raise ConventionError(f"{DECLARATION}[{conv.name!r}]: the module has no function {conv.name!r} "
                                      "(name yours with 'use')")
            raise ConventionError(f"{DECLARATION}[{conv.name!r}]['use'] = {conv.use!r}: the module has no such "
                                  "function or class")
        self.is_class = inspect.isclass(self.obj)
        if not self.is_class and not callable(self.obj):
            raise ConventionError(f"{DECLARATION}[{conv.name!r}]: {conv.use or conv.name} is not a function "
                                  f"(it is {type(self.obj).__name__})")
        if (conv.init or conv.set or conv.method) and not self.is_class:
            raise ConventionError(f"{DECLARATION}[{conv.name!r}]: init, set and method are for a class; "
                                  f"{conv.use or conv.name} is a function")
        self._check_params()

    # -- the student's parameters --------------------------------------------------------------------------
    def suite_names(self) -> list[str]:
        """The names the suite gives after fusing gates (the names ``params`` and ``set`` may use)."""
        names = list(self.signature.parameters)
        if self.conv.gates:
            table = _FUSED[self.conv.name]
            gate_names = {n for pair in table.values() for n in pair}
            names = [n for n in names if n not in gate_names] + ["W", "W_h", "W_x", "W_xh", "b", "b_h"]
        return names

    def _check_params(self) -> None:
        names = self.suite_names()
        conv = self.conv
        given = ([n for v in conv.params for n in ((v,) if isinstance(v, str) else v)]
                 if isinstance(conv.params, list) else list((conv.params or {}).keys()))
        for n in given + list(conv.set.values()) + list(conv.transpose) + list(conv.only):
            if n not in names:
                raise ConventionError(f"{DECLARATION}[{conv.name!r}]: {n!r} is not a parameter the suite passes to "
                                      f"{conv.name}; expected one of {', '.join(names)}")

    def describe(self) -> str:
        return f"{getattr(self.obj, '__qualname__', self.obj)!s}"

    # -- the call ---------------------------------------------------------------------------------------------
    def call(self, args: tuple, kwargs: dict, invoke: Callable[[Callable, tuple, dict], Any]) -> Any:
        """The suite's ``name(*args, **kwargs)`` computed by the student's code; ``invoke(fn, args, kwargs)``
        calls the student (the caller checks its inputs are left unchanged)."""
        import numpy as np

        conv = self.conv
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        special = self._special_rows(values)
        lead: tuple[int, ...] = ()
        cores = BATCHED.get(conv.name, {})
        batched = {k: c for k, c in cores.items() if _is_array(values.get(k))}
        if conv.batch != "any" and batched:
            try:
                lead = tuple(np.broadcast_shapes(*[tuple(values[k].shape[:values[k].ndim - c])
                                                   for k, c in batched.items()]))
            except ValueError as exc:
                raise NotSupported(f"the inputs' batch axes do not broadcast ({exc})") from None
        if conv.batch == "none" and lead:
            results = []
            for idx in np.ndindex(*lead):
                one = dict(values)
                for k, c in batched.items():
                    a = values[k]
                    full = _broadcast(a, lead + tuple(a.shape[a.ndim - c:]))
                    one[k] = _copy(full[idx])
                results.append(self._once(one))
            return self._after(_stack_results(results, lead), values, special)
        n = int(np.prod(lead)) if lead else 1
        if conv.batch in ("one", "required") and batched and (conv.batch == "one" or not lead):
            steps = {int(values[k].shape[-2]) for k, c in batched.items() if c == 2}  # the sequences' lengths
            for k, c in batched.items():
                a = values[k]
                core = tuple(a.shape[a.ndim - c:])
                flat = _copy(_broadcast(a, lead + core)).reshape((n,) + core)
                if conv.time_major and c == 2:
                    flat = _copy(_swap(flat, 0, 1))
                values[k] = flat
            result = self._once(values)

            def unflatten(y: Any) -> Any:
                if not _is_array(y) or y.ndim == 0:
                    return y
                if conv.time_major is True and y.ndim >= 2 and y.shape[0] in steps and y.shape[1] == n:
                    y = _swap(y, 0, 1)  # a time-major result, (T, N, ...) or (T, N): back to (N, T, ...)
                elif (conv.time_major is True and y.ndim >= 2 and y.shape[0] == n and y.shape[1] in steps
                      and y.shape[1] != n):
                    raise ConventionError(
                        f"{DECLARATION}[{conv.name!r}]['time_major'] = True: your result has shape "
                        f"{tuple(y.shape)}, batch first (N = {n}); declare time_major='inputs' if only the "
                        "inputs are time-major")
                if y.shape[0] != n:
                    return y
                return y.reshape(lead + tuple(y.shape[1:]))

            return self._after(_map_arrays(result, unflatten), values, special)
        return self._after(self._once(values), values, special)

    def _once(self, values: dict[str, Any]) -> Any:
        """One call of the student's code on the suite's values (batch already shaped)."""
        conv = self.conv
        values = dict(values)
        for k, wanted in conv.only.items():
            if not _same_value(values.get(k), wanted):
                raise NotSupported(f"your {self.describe()} handles {k} = {wanted!r} only (the suite passes "
                                   f"{_short(values.get(k))})")
        if conv.gates:
            values = _fuse(conv.name, conv.gates, values)
        transposed = set(conv.transpose)
        if conv.weights == "transposed":
            transposed |= {k for k, v in values.items() if k.startswith("W") and _is_array(v) and v.ndim == 2}
        for k in transposed:
            if _is_array(values.get(k)):
                values[k] = _copy(_swap(values[k], -1, -2))
        if conv.units is not None and "base" in values:
            values.pop("base")
        library = conv.array
        if library is not None:
            values = {k: _to_array_library(v, library) for k, v in values.items()}
        sargs, skw = self._student_arguments(values)
        if self.is_class:
            return self._call_class(values, sargs, skw)
        return _select(invoke_current(self.obj, sargs, skw), conv.returns, conv.name)

    def _accepted(self) -> tuple[set[str], bool]:
        """The parameter names the student's function (or the class's method) takes, and whether it takes
        ``**kwargs``."""
        fn = self.obj
        if self.is_class:
            fn = getattr(self.obj, self.conv.method or ("forward" if hasattr(self.obj, "forward") else "__call__"),
                         None)
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return set(), True
        params = [p for p in sig.parameters.values() if p.name != "self"]
        return ({p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)},
                any(p.kind is p.VAR_KEYWORD for p in params))

    def _init_names(self) -> set[str]:
        """The suite's parameters that the class's sizes (``init``) read, e.g. ``n_heads``."""
        names: set[str] = set()
        for key, text in self.conv.init.items():
            if not isinstance(text, str):
                continue
            tree = _size_expression(text, f"{DECLARATION}[{self.conv.name!r}]['init'][{key!r}]")
            names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        return names

    def _student_arguments(self, values: dict[str, Any]) -> tuple[tuple, dict]:
        """The student's positional and keyword arguments: the suite's values renamed (``params``), those the
        student does not take dropped (only where that loses nothing: :meth:`_check_dropped`)."""
        conv = self.conv
        used = set(conv.set.values()) if self.is_class else set()  # given to the object, not to the call
        sized = self._init_names() if self.is_class else set()  # read for the constructor's sizes: not lost
        forms = _FUSED_FORMS if conv.gates else set()
        if isinstance(conv.params, list):
            taken = [n for v in conv.params for n in ((v,) if isinstance(v, str) else v)]
            sargs: tuple = tuple(values[v] if isinstance(v, str) else tuple(values[n] for n in v)
                                 for v in conv.params)
            skw: dict = {}
        else:
            renames = conv.params or {}
            accepted, var_kw = self._accepted()
            taken = [k for k in values if k not in used and renames.get(k, k) is not None
                     and (var_kw or renames.get(k, k) in accepted)]
            sargs, skw = (), {renames.get(k, k): values[k] for k in taken}
        if conv.const:
            accepted, var_kw = self._accepted()
            for k in conv.const:
                if k in skw:
                    raise ConventionError(f"{DECLARATION}[{conv.name!r}]['const'][{k!r}]: {k!r} already receives the "
                                          "suite's value (params); a fixed value would replace the input")
                if not var_kw and k not in accepted:
                    raise ConventionError(f"{DECLARATION}[{conv.name!r}]['const'][{k!r}]: your {self.describe()} has "
                                          f"no parameter {k!r} (it takes {', '.join(sorted(accepted)) or 'none'})")
        skw = {**skw, **conv.const}
        if conv.gates and not ({"W"} <= set(taken) | used or {"W_xh"} <= set(taken) | used
                               or {"W_h", "W_x"} <= set(taken) | used):
            raise ConventionError(f"{DECLARATION}[{conv.name!r}]: with gates={conv.gates!r} your code must take the "
                                  "fused W (on [h; x]), W_xh (on [x; h]) or both W_h and W_x (rename them with "
                                  "params, or give them to the object with set)")
        dropped = [k for k in values if k not in taken and k not in used and k not in forms and k not in sized
                   and k not in conv.only]  # a value the declaration fixes (only) is the student's own, not lost
        params = self.signature.parameters
        lost = [k for k in dropped if k.startswith("W") and (k not in params or params[k].default is params[k].empty)]
        if lost:  # a weight matrix is never implicitly zero: the declaration forgot it
            raise ConventionError(f"{DECLARATION}[{conv.name!r}]: the suite's {', '.join(lost)} "
                                  f"{'is' if len(lost) == 1 else 'are'} neither passed to your "
                                  f"{self.describe()} nor set on it; name {'it' if len(lost) == 1 else 'them'} in "
                                  f"{'set' if self.is_class else 'params'}")
        self._check_dropped(values, dropped)
        return sargs, skw

    def _check_dropped(self, values: dict[str, Any], dropped: list[str]) -> None:
        """A parameter the student's function does not take may be left out only where the suite passes its
        default, None, or an array of zeros (a bias or an initial state that code without it assumes): otherwise
        the input is not covered."""
        import numpy as np

        params = self.signature.parameters
        for k in dropped:
            v = values.get(k)
            if v is None:
                continue
            p = params.get(k)
            if p is not None and p.default is not p.empty:
                try:
                    if v is p.default or (not _is_array(v) and v == p.default):
                        continue
                except Exception:  # noqa: BLE001
                    pass
            if _is_array(v):
                arr = v.detach().cpu().numpy() if _is_torch(v) else np.asarray(v)
                if arr.dtype == bool:  # a keep-mask: only one that keeps everything is the same as none
                    if arr.size and np.all(arr):
                        continue
                    raise NotSupported(f"your {self.describe()} takes no {k!r} and the suite passes a mask that "
                                       "masks something")
                if arr.size and not np.any(arr) and _assumed_zero(k):  # a bias or initial state left out is 0
                    continue
                if _assumed_zero(k):
                    raise NotSupported(f"your {self.describe()} takes no {k!r} (it assumes zeros) and the suite "
                                       f"passes {_short(v)} that is not all zero")
                raise NotSupported(f"your {self.describe()} takes no {k!r} and the suite passes one "
                                   f"({_short(v)})")
            raise NotSupported(f"your {self.describe()} takes no {k!r} and the suite passes {_short(v)}, not its "
                               f"default")

    def _call_class(self, values: dict[str, Any], sargs: tuple, skw: dict) -> Any:
        conv = self.conv
        sizes = {k: v for k, v in values.items()}
        init = {k: _size(v, sizes, f"{DECLARATION}[{conv.name!r}]['init'][{k!r}]") if isinstance(v, str) else v
                for k, v in conv.init.items()}
        obj = invoke_current(self.obj, (), init)
        torch = sys.modules.get("torch")
        is_module = torch is not None and isinstance(obj, torch.nn.Module)
        dtype = None
        if is_module:
            floats = [v for v in values.values() if _is_torch(v) and v.is_floating_point()]
            dtype = floats[0].dtype if floats else torch.float64
            obj = obj.to(dtype)
            obj.eval()
        for path, suite_name in conv.set.items():
            _set_attribute(obj, path, values[suite_name], conv.name, torch if is_module else None, dtype)
        method = conv.method or ("forward" if hasattr(obj, "forward") else "__call__")
        fn = getattr(obj, method, None)
        if fn is None or not callable(fn):
            raise ConventionError(f"{DECLARATION}[{conv.name!r}]['method'] = {method!r}: "
                                  f"{type(obj).__name__} has no such method")
        if is_module:
            with torch.no_grad():
                out = invoke_current(fn, sargs, skw)
        else:
            out = invoke_current(fn, sargs, skw)
        return _select(out, conv.returns, conv.name)

    # -- after the call -----------------------------------------------------------------------------------------
    def _after(self, result: Any, values: dict[str, Any], special: Any) -> Any:
        import numpy as np

        conv = self.conv
        if conv.array is not None:
            result = _map_arrays(result, lambda y: y.detach().cpu().numpy() if _is_torch(y) else y)
        factor = 1.0
        if conv.units is not None:
            student_base = 2.0 if conv.units == "bits" else math.e
            base = values.get("base")
            suite_base = math.e if base is None else float(base)
            factor = math.log(student_base) / math.log(suite_base)
        if conv.sign == "negated":
            factor = -factor
        if factor != 1.0:
            def scale(y: Any) -> Any:
                if _is_array(y) and (y.dtype.is_floating_point if _is_torch(y) else y.dtype.kind == "f"):
                    return y * factor
                if isinstance(y, (float, np.floating)):
                    return type(y)(y * factor) if isinstance(y, np.floating) else y * factor
                return y
            result = _map_arrays(result, scale)
        if special is not None and conv.masked_rows != "zeros":
            result = _masked_rows_as_zeros(result, special, conv, values)
        return result

    def _special_rows(self, values: dict[str, Any]) -> Any:
        """The fully masked rows of this input (a boolean array over the rows), or None."""
        import numpy as np

        if self.conv.masked_rows == "zeros" or self.conv.name not in MASKED:
            return None
        param, how = MASKED[self.conv.name]
        v = values.get(param)
        if v is None:
            return None
        arr = v.detach().cpu().numpy() if _is_torch(v) else np.asarray(v)
        if how == "all -inf":
            rows = np.all(np.isneginf(arr), axis=-1) if arr.ndim else np.zeros((), bool)
        else:
            rows = ~np.any(arr.astype(bool), axis=-1)
        return rows if np.any(rows) else None


def invoke_current(fn: Callable, args: tuple, kwargs: dict) -> Any:
    """Call the student's code through the invoker of the call in progress (set by :meth:`Plan.call`'s caller)."""
    return _INVOKE[0](fn, args, kwargs)


def _default_invoke(fn: Callable, args: tuple, kwargs: dict) -> Any:
    return fn(*args, **kwargs)


_INVOKE: list[Callable[[Callable, tuple, dict], Any]] = [_default_invoke]


def call(plan: Plan, args: tuple, kwargs: dict, invoke: Callable[[Callable, tuple, dict], Any] | None = None) -> Any:
    """:meth:`Plan.call` with ``invoke`` (the caller's check around each call of the student's code)."""
    previous = _INVOKE[0]
    _INVOKE[0] = invoke or _default_invoke
    try:
        return plan.call(args, kwargs, _INVOKE[0])
    finally:
        _INVOKE[0] = previous


#: initial states whose absence means zeros (with every bias: a parameter named b or b_...)
_INITIAL_STATES = frozenset({"h0", "c0", "h_prev", "c_prev", "s_prev"})


def _assumed_zero(name: str) -> bool:
    """Whether code that does not take ``name`` computes as if it were zeros: a bias or an initial state (never
    an input such as X_kv, whose zeros are data)."""
    return name == "b" or name.startswith("b_") or name in _INITIAL_STATES


def _same_value(v: Any, wanted: Any) -> bool:
    import numpy as np

    try:
        if _is_array(v) or isinstance(wanted, (list, tuple)) or _is_array(wanted):
            a = v.detach().cpu().numpy() if _is_torch(v) else np.asarray(v)
            return a.shape == np.shape(wanted) and bool(np.all(a == np.asarray(wanted)))
        return v == wanted or (v is None and wanted is None)
    except Exception:  # noqa: BLE001
        return False


def _short(v: Any) -> str:
    if _is_array(v):
        return f"an array of shape {tuple(v.shape)}"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _fuse(name: str, order: str, values: dict[str, Any]) -> dict[str, Any]:
    """The per-gate matrices and biases stacked on the first axis in the student's order."""
    table = _FUSED[name]
    d_h = values[_HIDDEN[name]].shape[-1]
    out = dict(values)
    mats, biases = [], []
    for letter in order:
        w_name, b_name = table[letter]
        W = values[w_name]
        b = values.get(b_name)
        if b is None:
            b = _zeros_like(W[:, 0])
        mats.append(W)
        biases.append(b)
    for w_name, b_name in set(table.values()):
        out.pop(w_name, None)
        out.pop(b_name, None)
    W = _copy(_cat(mats, 0))
    out["W"] = W
    out["W_h"] = _copy(W[:, :d_h])
    out["W_x"] = _copy(W[:, d_h:])
    out["W_xh"] = _copy(_cat([W[:, d_h:], W[:, :d_h]], 1))
    b = _copy(_cat(biases, 0))
    out["b"] = b
    out["b_h"] = _zeros_like(b)
    return out


def _select(out: Any, returns: Any, name: str) -> Any:
    if returns is None:
        return out
    if isinstance(returns, tuple):
        return tuple(_pick(out, r, name) for r in returns)
    return _pick(out, returns, name)


def _pick(out: Any, path: Any, name: str) -> Any:
    parts = [path] if isinstance(path, int) else str(path).split(".")
    cur = out
    for part in parts:
        try:
            if isinstance(part, int) or (isinstance(part, str) and part.lstrip("-").isdigit()):
                cur = cur[int(part)]
            elif isinstance(cur, dict):
                cur = cur[part]
            else:
                cur = getattr(cur, part)
        except (IndexError, KeyError, AttributeError, TypeError):
            what = type(cur).__name__ + (f" of {len(cur)}" if isinstance(cur, (tuple, list)) else "")
            raise ConventionError(f"{DECLARATION}[{name!r}]['returns'] = {path!r}: your function returned a "
                                  f"{what}, which has no {part!r}") from None
    return cur


def _set_attribute(obj: Any, path: str, value: Any, name: str, torch: Any, dtype: Any) -> None:
    *parents, last = path.split(".")
    owner = obj
    for p in parents:
        owner = getattr(owner, p, None)
        if owner is None:
            raise ConventionError(f"{DECLARATION}[{name!r}]['set']: {type(obj).__name__} has no attribute "
                                  f"{'.'.join(parents)!r} (for {path!r})")
    current = getattr(owner, last, None)
    if value is None:  # an optional bias the suite leaves out: the same as a zero bias
        if torch is not None and isinstance(current, torch.nn.Parameter):
            with torch.no_grad():
                current.zero_()
            return
        if _is_array(current):
            value = _zeros_like(current)
        else:
            setattr(owner, last, None)
            return
    if torch is not None:
        import numpy as np

        t = value if _is_torch(value) else torch.from_numpy(np.array(value, copy=True))
        t = t.to(dtype) if dtype is not None else t
        if isinstance(current, torch.nn.Parameter):
            if tuple(current.shape) != tuple(t.shape):
                raise NotSupported(f"{path} has shape {tuple(current.shape)} and the suite's value "
                                   f"{tuple(t.shape)}")
            with torch.no_grad():
                current.copy_(t)
            return
        setattr(owner, last, t)
        return
    if current is not None and _is_array(current) and tuple(current.shape) != tuple(value.shape):
        raise NotSupported(f"{path} has shape {tuple(current.shape)} and the suite's value {tuple(value.shape)}")
    setattr(owner, last, value)


def _stack_results(results: list[Any], lead: tuple[int, ...]) -> Any:
    """The results of the per-example calls, stacked back into the batch's leading axes."""
    import numpy as np

    first = results[0]
    if isinstance(first, tuple):
        return tuple(_stack_results([r[i] for r in results], lead) for i in range(len(first)))
    if isinstance(first, list):
        return [_stack_results([r[i] for r in results], lead) for i in range(len(first))]
    if isinstance(first, dict):
        return {k: _stack_results([r[k] for r in results], lead) for k in first}
    stacked = _stack(results) if _is_array(first) else np.asarray(results)
    return stacked.reshape(lead + tuple(stacked.shape[1:]))


def _row_mask(rows: Any, shape: tuple[int, ...]) -> Any:
    """The fully masked rows broadcast over a result's rows (``shape`` without its last axis); multi-head
    weights carry a head axis before the query axis that the mask does not."""
    import numpy as np

    for r in (rows, rows[..., None, :] if rows.ndim else rows):
        try:
            return np.broadcast_to(r, shape)
        except ValueError:
            continue
    return None


def _masked_rows_as_zeros(result: Any, rows: Any, conv: Convention, values: dict[str, Any]) -> Any:
    """Rows fully masked: the declared behaviour checked, then written as the suite's zeros; a row that is not
    what was declared is left as the student returned it (and compared as such).

    ``nan``: the row must be NaN throughout. ``uniform``: a weights row must hold one value, 1/m to the last
    bit up to the rounding of 1/m's product by m; an output row of ``scaled_dot_product_attention`` must be the
    mean of V's rows within the rounding of a sum of m terms
    (:func:`lmverify.tolerance.mean_of_rows_bound`). Other outputs of a uniform row cannot be checked from
    here: the input is then not covered."""
    import numpy as np

    from lmverify.tolerance import mean_of_rows_bound

    def fix(y: Any, is_weights: bool) -> Any:
        if not _is_array(y) or y.ndim < 1:
            return y
        arr = y.detach().cpu().numpy().copy() if _is_torch(y) else np.array(y, copy=True)
        mask = _row_mask(rows, arr.shape[:-1])
        if mask is None:
            return y
        for idx in zip(*np.nonzero(mask)):
            row = arr[idx]
            if conv.masked_rows == "nan":
                ok = bool(np.all(np.isnan(row)))
            elif is_weights:
                m = row.size
                ok = m > 0 and bool(np.all(row == row.flat[0])) and abs(float(row.flat[0]) * m - 1.0) \
                    <= 2 * np.finfo(arr.dtype).eps
            elif conv.name == "scaled_dot_product_attention" and values.get("V") is not None:
                V = values["V"]
                Vn = V.detach().cpu().numpy() if _is_torch(V) else np.asarray(V)
                Vrow = np.broadcast_to(Vn, mask.shape[:-1] + Vn.shape[-2:])[tuple(idx[:-1])]
                want = Vrow.mean(axis=0)
                ok = bool(np.all(np.abs(row - want) <= mean_of_rows_bound(Vrow, arr.dtype)))
            else:
                raise NotSupported("a fully masked row with masked_rows='uniform': only the weights (and "
                                   "scaled_dot_product_attention's output) can be checked to be uniform")
            if ok:
                arr[idx] = 0.0
        return arr

    if isinstance(result, tuple) and len(result) >= 2 and conv.name in ("scaled_dot_product_attention",
                                                                          "multi_head_attention"):
        return (fix(result[0], False), fix(result[1], True)) + tuple(result[2:])
    return _map_arrays(result, lambda y: fix(y, True))


# -- what the student's process (and the trusted in-process path) runs ---------------------------------------


class InputChanged(Exception):
    """The student's code changed an argument it was given (the names, as the student's function calls them)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


def reference_function(topic: str, name: str) -> Callable:
    from lmverify.catalogue import form_function

    return form_function("numpy", topic, name)


def resolve(module: Any, topic: str | None, name: str, cache: dict) -> Plan | None:
    """The plan of the suite function ``name`` in the student's ``module`` (cached), or None where the module
    declares no conventions for it (then the function of that name is called as it is)."""
    if name in cache:
        return cache[name]
    conv = declared(module, name)
    plan = None
    if conv is not None:
        if topic is None:
            raise ConventionError(f"{DECLARATION}[{name!r}]: the suite did not say which topic {name} is of")
        plan = Plan(module, conv, reference_function(topic, name))
    cache[name] = plan
    return plan


def describe(module: Any, topic: str | None, name: str, cache: dict) -> tuple[bool, bool, str, bool]:
    """(defined, callable, type name, declared) of the suite function ``name`` in ``module``; a declaration
    that cannot be used raises :class:`ConventionError`."""
    plan = resolve(module, topic, name, cache)
    if plan is not None:
        return True, True, type(plan.obj).__name__, True
    f = getattr(module, name, None)
    return f is not None, callable(f), type(f).__name__, False


def run(module: Any, topic: str | None, name: str, args: tuple, kwargs: dict, cache: dict,
        invoke: Callable[[Callable, tuple, dict], Any]) -> Any:
    """The suite's ``name(*args, **kwargs)`` in the student's code: through its declared conventions, or the
    function of that name called as it is. A returned ``NotImplemented`` declines the input
    (:class:`NotSupported`)."""
    plan = resolve(module, topic, name, cache)
    if plan is None:
        result = invoke(getattr(module, name), tuple(args), dict(kwargs))
    else:
        result = call(plan, tuple(args), dict(kwargs), invoke)
    if result is NotImplemented:
        raise NotSupported(f"your {name} returned NotImplemented for this input")
    return result


# -- the suite's side: a difference that is a convention, not a mistake ------------------------------------------


def convention_hint(name: str, inputs: dict[str, Any], got: Any, expected: Any, index: int | None = None) -> str:
    """A ``Convention:`` line where the student's result differs from the suite's only in fully masked rows,
    and there is NaN throughout (PyTorch's behaviour) or uniform (a finite fill such as -1e9): the option that
    declares it, never a hint of a mistake. '' otherwise."""
    import numpy as np

    if name not in MASKED or got is None or expected is None:
        return ""
    param, how = MASKED[name]
    v = inputs.get(param)
    if v is None:
        return ""
    try:
        arr = np.asarray(v.detach().cpu().numpy() if _is_torch(v) else v)
        g = np.asarray(got, dtype=np.float64)
        e = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return ""
    if g.shape != e.shape or g.ndim < 1:
        return ""
    rows = np.all(np.isneginf(arr), axis=-1) if how == "all -inf" else ~np.any(arr.astype(bool), axis=-1)
    mask = _row_mask(rows, g.shape[:-1])
    if mask is None or not np.any(mask):
        return ""
    other = ~mask
    from lmverify.compare import close_elementwise
    from lmverify.tolerance import tolerance_for

    tol = tolerance_for("float32")  # the loosest tolerance a student's result is held to: the hint's evidence rule
    same = close_elementwise(g[other], e[other], tol)
    if not np.all(same):
        return ""  # a difference outside the masked rows: not (only) a convention
    masked_got = g[mask]
    V = inputs.get("V")
    if np.all(np.isnan(masked_got)) and not np.all(np.isnan(e[mask])):
        option, what = "nan", "NaN (as PyTorch's softmax and F.scaled_dot_product_attention give)"
    elif (index in (None, 1) and masked_got.shape[-1] > 0 and np.all(np.isfinite(masked_got))
          and np.all(close_elementwise(masked_got, np.full(masked_got.shape, 1.0 / masked_got.shape[-1]), tol))):
        option, what = "uniform", "uniform weights (as a finite fill such as -1e9 gives)"
    elif index == 0 and name == "scaled_dot_product_attention" and V is not None and np.all(np.isfinite(masked_got)):
        from lmverify.tolerance import mean_of_rows_bound

        Vn = np.asarray(V, dtype=np.float64)
        Vb = np.broadcast_to(Vn, mask.shape[:-1] + Vn.shape[-2:])
        means = np.broadcast_to(Vb.mean(axis=-2)[..., None, :], g.shape)[mask]
        bound = np.broadcast_to(mean_of_rows_bound(Vb, np.float32)[..., None, :], g.shape)[mask]
        if not np.all(np.abs(masked_got - means) <= bound):
            return ""
        option, what = "uniform", "the mean of V's rows, as uniform weights (a finite fill such as -1e9) give"
    else:
        return ""
    return (f"Convention: in the fully masked rows your result is {what}; the suite's convention is zeros "
            f"(a row with nothing to attend to contributes nothing). This is a convention, not a mistake: if it is "
            f"what you mean, declare it in your module: LMVERIFY = {{{name!r}: dict(masked_rows={option!r})}} "
            "(see `lmverify starter attention`).")
