"""Declared conventions (lmverify.students.conventions): student code shaped as real assignments shape it plugs
in with a few declared lines, every conversion is exact (a wrong declaration or a real bug still fails), and an
input the student's code declines is "not covered", never a failure nor a skip of the whole test.

The modules under tests/data/students/conventions/ are the suite's own, written in the shapes met in public
course solutions: (N, D) and (N, T, D) batches only, weights as (in, out), LSTM gates fused in the order
i, f, o, g or PyTorch's i, f, g, o, steps that return caches, classes (nn.Module with dropout, a plain class with
a `step` method), bits, losses, NaN in a fully masked row, a causal-only multi-head attention.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lmverify import registry
from lmverify.catalogue import function_of, load as load_catalogue
from lmverify.students import conventions
from lmverify.students_check import check_module

DATA = Path(__file__).parent / "data" / "students" / "conventions"
ROOT = Path(__file__).resolve().parents[1]

#: each module and the suite functions it declares
MODULES = {  # (lstm_forward of the first is declared too: it assumes c0 = 0, see the test of dropped parameters)
    "fixed_batch_fused_gates": ("rnn_cell", "rnn_forward", "lstm_cell"),
    "torch_modules": ("lstm_cell", "gru_cell", "lstm_forward"),
    "information_bits": ("entropy", "cross_entropy", "kl_divergence", "sequence_log_likelihood"),
    # (its multi_head_attention takes causal masks only, which the generic inputs never draw: see the last test)
    "attention_torch_nan": ("scaled_dot_product_attention", "softmax"),
    "numpy_class_rnn": ("rnn_cell", "skipgram_softmax"),
}


def _equations(functions: tuple[str, ...]) -> list[str]:
    return [eq["id"] for eq in load_catalogue() if function_of(eq)[1] in functions and registry.get(eq["id"])]


def _outcomes(path: Path, functions: tuple[str, ...], drawn: int = 20):
    return check_module(path, _equations(functions), drawn=drawn)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_declared_module_passes_without_a_hint(module):
    outcomes = _outcomes(DATA / f"{module}.py", MODULES[module])
    failed = [o for o in outcomes if o.status == "failed"]
    assert not failed, "\n\n".join(f"{o.equation} {o.check}: {o.message}" for o in failed)
    assert not [o for o in outcomes if "Hint:" in o.message or "Convention:" in o.message]
    passed = {o.equation for o in outcomes if o.status == "passed"}
    for fn in MODULES[module]:  # every declared function was really compared on some input
        assert passed & set(_equations((fn,))), f"{module}: no check of {fn} ran"


def _variant(tmp_path: Path, module: str, old: str, new: str) -> Path:
    text = (DATA / f"{module}.py").read_text()
    assert old in text, f"{old!r} not in {module}.py"
    out = tmp_path / f"{module}_variant.py"
    out.write_text(text.replace(old, new, 1))
    return out


def _failures(path: Path, functions: tuple[str, ...]) -> list:
    return [o for o in _outcomes(path, functions, drawn=15) if o.status == "failed"]


@pytest.mark.parametrize("module, function, old, new", [
    # a declaration that does not say what the code does is not papered over: each is a failure
    ("fixed_batch_fused_gates", "lstm_cell", 'gates="ifog", params=["x", "h_prev"',
     'gates="ifgo", params=["x", "h_prev"'),
    ("fixed_batch_fused_gates", "rnn_cell", 'weights="transposed", batch="one", returns=0),\n    "rnn_forward"',
     'batch="one", returns=0),\n    "rnn_forward"'),
    ("information_bits", "entropy", '"entropy": dict(units="bits")', '"entropy": dict()'),
    ("information_bits", "sequence_log_likelihood", 'sign="negated", ', ""),
    ("torch_modules", "lstm_cell", '"forget.weight": "W_f"', '"forget.weight": "W_i"'),
    ("numpy_class_rnn", "rnn_cell", 'set={"Wxh": "W_xh", "Whh": "W_hh"', 'set={"Wxh": "W_hh", "Whh": "W_xh"'),
])
def test_a_wrong_declaration_fails(tmp_path, module, function, old, new):
    assert _failures(_variant(tmp_path, module, old, new), (function,))


@pytest.mark.parametrize("module, function, old, new", [
    # the student's own arithmetic is what is compared: a real bug behind the conventions is caught
    ("fixed_batch_fused_gates", "lstm_cell", "next_c = f * prev_c + i * g", "next_c = prev_c + i * g"),
    ("fixed_batch_fused_gates", "rnn_forward", "for t in range(T):\n        prev, _", "for t in range(T - 1):\n        prev, _"),
    ("torch_modules", "gru_cell", "return (1 - z) * h + z * h_tilde", "return z * h + (1 - z) * h_tilde"),
    ("information_bits", "kl_divergence", "np.log2(np.where(p > 0, p, 1.0)) - np.log2(q)",
     "np.log2(q) - np.log2(np.where(p > 0, p, 1.0))"),
    ("attention_torch_nan", "scaled_dot_product_attention", "/ math.sqrt(Q.shape[-1])", "/ Q.shape[-1]"),
])
def test_a_bug_behind_the_conventions_is_caught(tmp_path, module, function, old, new):
    failures = _failures(_variant(tmp_path, module, old, new), (function,))
    assert failures
    assert all("Convention:" not in o.message for o in failures)


def test_a_masked_row_convention_gets_a_convention_hint_naming_the_option(tmp_path):
    path = _variant(tmp_path, "attention_torch_nan", 'use="attention", array="torch", masked_rows="nan"',
                    'use="attention", array="torch"')
    failures = _failures(path, ("scaled_dot_product_attention",))
    assert failures
    assert any("masked_rows='nan'" in o.message and "Convention:" in o.message for o in failures)
    assert not any("Hint:" in o.message for o in failures), "a convention is not told as a mistake"


def test_uniform_masked_rows_are_checked_then_compared_as_zeros(tmp_path):
    path = _variant(tmp_path, "attention_torch_nan", 'scores = scores.masked_fill(~mask, float("-inf"))',
                    'scores = scores.masked_fill(~mask, -1e9)')
    plain = _failures(path, ("scaled_dot_product_attention",))
    assert any("masked_rows='uniform'" in o.message for o in plain)
    declared = _variant(tmp_path, "attention_torch_nan", 'scores = scores.masked_fill(~mask, float("-inf"))',
                        'scores = scores.masked_fill(~mask, -1e9)')
    declared.write_text(declared.read_text().replace('masked_rows="nan"),\n    "softmax"',
                                                     'masked_rows="uniform"),\n    "softmax"', 1))
    assert not _failures(declared, ("scaled_dot_product_attention",))


def test_an_input_the_code_declines_is_not_covered_not_failed():
    # the generic inputs draw no mask: the causal-only module declines every one of them
    outcomes = _outcomes(DATA / "attention_torch_nan.py", ("multi_head_attention",), drawn=10)
    assert outcomes and all(o.status != "failed" and "not covered" in o.message for o in outcomes)
    assert all("a causal mask only" in o.message for o in outcomes)


def test_a_parameter_the_code_does_not_take_is_dropped_only_at_its_default():
    outcomes = _outcomes(DATA / "fixed_batch_fused_gates.py", ("lstm_forward",))
    declined = [o for o in outcomes if "not covered" in o.message]
    assert declined and all("takes no 'c0'" in o.message for o in declined)


@pytest.mark.parametrize("options, words", [
    ({"batch": "two"}, ["'batch'", "'any', 'required', 'one' or 'none'"]),
    ({"colour": "red"}, ["unknown option 'colour'", "batch"]),
    ({"gates": "ifo"}, ["'gates'", "rnn_cell has no gates to fuse"]),
    ({"units": "bits"}, ["'units'", "does not return an information quantity"]),
    ({"params": {"hidden": "h"}}, ["'hidden' is not a parameter the suite passes", "h_prev"]),
    ({"use": "no_such_function"}, ["'use'", "no such function"]),
    ({"returns": 5}, ["['returns'] = 5", "tuple of 2"]),
])
def test_a_declaration_the_suite_cannot_use_is_named(tmp_path, options, words):
    path = tmp_path / "declared.py"
    path.write_text("import numpy as np\n"
                    "def rnn_cell(x, h_prev, W_hh, W_xh, b):\n"
                    "    return np.tanh(h_prev @ W_hh.T + x @ W_xh.T + b), None\n"
                    f"LMVERIFY = {{'rnn_cell': {options!r}}}\n")
    outcomes = _outcomes(path, ("rnn_cell",), drawn=3)
    assert outcomes and all(o.status == "failed" for o in outcomes)
    for w in words:
        assert w in outcomes[0].message, outcomes[0].message


def test_an_input_changed_in_place_after_conversion_is_named(tmp_path):
    path = _variant(tmp_path, "fixed_batch_fused_gates", "next_h = np.tanh(x @ Wx + prev_h @ Wh + b)",
                    "x *= 1.0000001\n    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)")
    failures = _failures(path, ("rnn_cell",))
    assert failures and "changed its input `x` in place" in failures[0].message


def test_conversions_are_exact_reshapes_and_transposes():
    """The plan's arguments are the suite's numbers rearranged: fusing the gates and splitting them back gives
    the very same matrices, bit for bit."""
    rng = np.random.default_rng(0)
    d_h, d_x = 3, 2
    values = {"x": rng.normal(size=d_x), "h_prev": rng.normal(size=d_h), "c_prev": rng.normal(size=d_h)}
    for g in "fico":
        values[f"W_{g}"] = rng.normal(size=(d_h, d_h + d_x))
        values[f"b_{g}"] = rng.normal(size=d_h)
    fused = conventions._fuse("lstm_cell", "ifgo", values)
    for k, g in enumerate("ifco"):
        assert np.array_equal(fused["W"][k * d_h:(k + 1) * d_h], values[f"W_{g}"])
        assert np.array_equal(fused["W_x"][k * d_h:(k + 1) * d_h], values[f"W_{g}"][:, d_h:])
        assert np.array_equal(fused["W_h"][k * d_h:(k + 1) * d_h], values[f"W_{g}"][:, :d_h])
        assert np.array_equal(fused["b"][k * d_h:(k + 1) * d_h], values[f"b_{g}"])
    assert not np.any(fused["b_h"])


def _pytest_impl(attention: Path, also: str = "", ngram: Path | None = None) -> str:
    """``pytest --impl`` as a student runs it, in a process of its own (forked from the suite's preloaded
    forkserver: lmverify.grade.run_pytest), the student's functions in a process of their own again; ``also``
    adds a -k alternative (for ``ngram``, a module of the n-gram topic)."""
    from lmverify.grade import run_pytest

    keyword = "multi_head_attention or (lstm_cell and oracle)" + (f" or ({also})" if also else "")
    impls = ["--impl", f"attention={attention}", "--impl", f"recurrent={DATA / 'fixed_batch_fused_gates.py'}"]
    if ngram is not None:
        impls += ["--impl", f"ngram={ngram}"]
    proc = run_pytest(str(ROOT / "tests" / "test_equations.py"), str(ROOT / "tests" / "test_attention.py"), "-rA",
                      "-k", keyword, *impls)
    return f"exit {proc.returncode}\n{proc.stdout}{proc.stderr}"


#: the add-one model of test_some_pinned_inputs_declined_the_others_still_run: it declines k != 1
ADD_ONE = ("import numpy as np\n"
           "def add_one(counts, context_counts, V):\n"
           "    return (np.asarray(counts) + 1.0) / (np.asarray(context_counts)[..., None] + V)\n"
           "LMVERIFY = {'add_k': dict(use='add_one', params={'vocab_size': 'V'}, only={'k': 1.0})}\n")


@pytest.fixture(scope="module")
def declared_run(tmp_path_factory) -> str:
    """One pytest run of the declared modules (attention, recurrent, and the add-one n-gram model under
    ``-k "pinned and add_k"``), read by the two tests below: one process start instead of two."""
    addone = tmp_path_factory.mktemp("addone") / "addone.py"
    addone.write_text(ADD_ONE)
    return _pytest_impl(DATA / "attention_torch_nan.py", also="pinned and add_k", ngram=addone)


def test_pytest_impl_runs_declared_conventions_in_the_students_process_and_lists_what_is_not_covered(
        tmp_path, declared_run):
    """The real student loop, isolated process included: a declared module passes, the inputs its code declined
    are listed apart (never failed, never a skip of the whole test), and the earlier, non-causal version of the
    causal-only attention fails on the inputs it accepts."""
    out = declared_run
    assert out.startswith("exit 0"), out[-4000:]
    assert "not covered: inputs your code declined" in out, out[-4000:]
    assert "test_multi_head_attention_matches_torch_nn_multihead" in out.split("not covered: inputs")[1]
    assert " failed" not in out
    buggy = _variant(tmp_path, "attention_torch_nan", "out, weights = attention(q, k, v, causal)",
                     "out, weights = attention(q, k, v, None)")
    out = _pytest_impl(buggy)
    assert out.startswith("exit 1"), out[-4000:]
    assert "FAILED" in out and "test_multi_head_attention_matches_torch_nn_multihead" in out


def _module(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(source)
    return path


def test_time_major_results_of_rank_two_come_back_batch_first(tmp_path):
    """(T, N) scores of a time-major decoder are transposed back like (T, N, D) states (a real chatbot's Attn)."""
    path = _module(tmp_path, "time_major", (
        "import numpy as np\n"
        "def dot(h_dec, h_enc):\n"
        "    # h_dec (N, d), h_enc (T, N, d) -> (T, N)\n"
        "    return np.sum(h_dec[None] * h_enc, axis=-1)\n"
        "LMVERIFY = {'luong_dot_score': dict(use='dot', batch='one', time_major=True)}\n"))
    outcomes = _outcomes(path, ("luong_dot_score",))
    assert outcomes and all(o.status == "passed" for o in outcomes), [o.message for o in outcomes]


def test_a_joint_table_is_batched_for_the_information_measures(tmp_path):
    path = _module(tmp_path, "joint", (
        "import numpy as np\n"
        "def mi(pxy):\n"
        "    assert pxy.ndim == 2\n"
        "    px, py = pxy.sum(1, keepdims=True), pxy.sum(0, keepdims=True)\n"
        "    nz = pxy > 0\n"
        "    return float(np.sum(pxy[nz] * np.log2(pxy[nz] / (px @ py)[nz])))\n"
        "LMVERIFY = {'mutual_information': dict(use='mi', batch='none', units='bits')}\n"))
    outcomes = _outcomes(path, ("mutual_information",))
    assert outcomes and not [o for o in outcomes if o.status == "failed"], [o.message for o in outcomes]


def test_a_mask_that_masks_something_is_never_dropped(tmp_path):
    """Code without a mask parameter covers only inputs whose mask keeps everything (an all-False keep-mask
    is not 'zeros, the same as none')."""
    path = _module(tmp_path, "nomask", (
        "import numpy as np\n"
        "def weights(e):\n"
        "    x = np.exp(e - e.max(-1, keepdims=True))\n"
        "    return x / x.sum(-1, keepdims=True)\n"
        "LMVERIFY = {'alignment_weights': dict(use='weights')}\n"))
    from lmverify.students_check import student_backend

    backend = student_backend(path)
    from lmverify.backends import NotCovered

    e = np.array([1.0, 2.0])
    with pytest.raises(NotCovered, match="masks something"):
        backend.call("seq2seq", "alignment_weights", e=e, mask=np.array([False, False]))
    with pytest.raises(NotCovered, match="masks something"):
        backend.call("seq2seq", "alignment_weights", e=e, mask=np.array([True, False]))
    got = backend.call("seq2seq", "alignment_weights", e=e, mask=np.array([True, True]))
    assert np.allclose(got, np.exp(e) / np.exp(e).sum())


def test_const_and_only_options(tmp_path):
    path = _module(tmp_path, "addone", (
        "import numpy as np\n"
        "def add_one(counts, context_counts, V, smoothing):\n"
        "    assert smoothing == 'laplace'\n"
        "    return (np.asarray(counts) + 1.0) / (np.asarray(context_counts)[..., None] + V)\n"
        "LMVERIFY = {'add_k': dict(use='add_one', params={'vocab_size': 'V'}, only={'k': 1.0},\n"
        "                          const={'smoothing': 'laplace'})}\n"))
    outcomes = _outcomes(path, ("add_k",))
    assert not [o for o in outcomes if o.status == "failed"], [o.message for o in outcomes]
    assert any("handles k = 1.0 only" in o.message for o in outcomes), [o.message for o in outcomes]


def test_fewer_results_than_the_reference_are_named_before_a_test_unpacks_them(tmp_path):
    from lmverify.check import Check
    from lmverify.compare import VerificationError
    from lmverify.students_check import student_backend

    path = _module(tmp_path, "onlyh", (
        "from reference.numpy.recurrent import lstm_forward as ref\n"
        "def lstm_forward(xs, h0, c0, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):\n"
        "    return ref(xs, h0, c0, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)[0]\n"))
    check = Check("recurrent.lstm_forward", student_backend(path))
    rng = np.random.default_rng(0)
    kw = {"xs": rng.normal(size=(2, 1)), "h0": np.zeros(1), "c0": np.zeros(1)}
    kw |= {f"W_{g}": rng.normal(size=(1, 2)) for g in "fico"} | {f"b_{g}": np.zeros(1) for g in "fico"}
    with pytest.raises(VerificationError, match="must return a tuple of 2 results"):
        hs, cs = check.call(**kw)


def test_some_pinned_inputs_declined_the_others_still_run(declared_run):
    """The generic pinned-input test goes on past a declined input (an add-one model declines k != 1) and
    lists the declined ones apart; the page's k = 1 example is still checked (the add-one model's run is
    part of ``declared_run``)."""
    text = declared_run
    assert text.startswith("exit 0"), text[-3000:]
    assert "PASSED" in text and "test_pinned_inputs_match_exact[ngram.add_k-impl]" in text, text[-3000:]
    assert "PASSED tests/test_equations.py::test_pinned_inputs_match_exact[ngram.add_k-impl]" in text, text[-3000:]
    listed = text.split("not covered: inputs your code declined")[1]
    line = next((ln for ln in listed.splitlines()
                 if ln.startswith("tests/test_equations.py::test_pinned_inputs_match_exact[ngram.add_k-impl]:")), "")
    assert "3 inputs not covered" in line and "handles k = 1.0 only" in line, text[-3000:]


def test_zeros_are_dropped_only_for_biases_and_initial_states(tmp_path):
    """X_kv of zeros is data, not 'no X_kv': self-attention-only code declines it."""
    from lmverify.backends import NotCovered
    from lmverify.students_check import student_backend

    path = _module(tmp_path, "selfonly", (
        "from reference.numpy.attention import multi_head_attention as ref\n"
        "def mha(X, W_q, W_k, W_v, W_o, n_heads, mask=None):\n"
        "    return ref(X, X, W_q, W_k, W_v, W_o, n_heads, mask)\n"
        "LMVERIFY = {'multi_head_attention': dict(use='mha', params={'X_q': 'X'})}\n"))
    backend = student_backend(path)
    W = np.eye(2)
    with pytest.raises(NotCovered, match="takes no 'X_kv'"):
        backend.call("attention", "multi_head_attention", X_q=np.ones((2, 2)), X_kv=np.zeros((2, 2)), W_q=W, W_k=W,
                     W_v=W, W_o=W, n_heads=1)


def test_a_const_that_names_no_parameter_or_replaces_an_input_is_a_declaration_error(tmp_path):
    source = ("import numpy as np\n"
              "def sm(x, dim):\n"
              "    with np.errstate(invalid='ignore'):  # an all -inf row: -inf - -inf is NaN (declared below)\n"
              "        e = np.exp(x - x.max(dim, keepdims=True))\n"
              "    return e / e.sum(dim, keepdims=True)\n"
              "LMVERIFY = {'softmax': dict(use='sm', params={'z': 'x'}, only={'tau': 1.0}, masked_rows='nan',\n"
              "                            const=%s)}\n")
    ok = _outcomes(_module(tmp_path, "ok", source % "{'dim': -1}"), ("softmax",))
    assert ok and not [o for o in ok if o.status == "failed"], [o.message for o in ok]
    typo = _outcomes(_module(tmp_path, "typo", source % "{'dimm': -1}"), ("softmax",))
    assert typo and all("['const']['dimm']" in o.message and "no parameter 'dimm'" in o.message
                        for o in typo if o.status == "failed") and any(o.status == "failed" for o in typo)
    clash = _outcomes(_module(tmp_path, "clash", source % "{'x': 0, 'dim': -1}"), ("softmax",))
    assert any("already receives the suite's value" in o.message for o in clash), [o.message for o in clash]


def test_time_major_results_that_are_batch_first_are_named_not_silently_transposed(tmp_path):
    source = ("import numpy as np\n"
              "def dot(h_dec, h_enc):\n"
              "    return np.sum(h_dec[None] * h_enc, axis=-1).T  # (N, T): batch first\n"
              "LMVERIFY = {'luong_dot_score': dict(use='dot', batch='one', time_major=%s)}\n")
    wrong = _outcomes(_module(tmp_path, "both", source % "True"), ("luong_dot_score",))
    assert any("declare time_major='inputs'" in o.message for o in wrong), [o.message for o in wrong]
    right = _outcomes(_module(tmp_path, "inputs", source % "'inputs'"), ("luong_dot_score",))
    assert right and all(o.status == "passed" for o in right), [o.message for o in right]


def test_shared_options_are_said_once_and_apply_only_where_they_can(tmp_path):
    """LMVERIFY['*']: the shape of a whole module's code said once (here (N, D) batches and (in, out) weights for
    four functions, gates only where there are gates)."""
    text = (DATA / "fixed_batch_fused_gates.py").read_text()
    start = text.index("LMVERIFY = {")
    end = text.index("\n}\n", start) + 3
    shared = ('LMVERIFY = {"*": dict(weights="transposed", batch="one", gates="ifog"),\n'
              '    "rnn_cell": dict(use="rnn_step_forward", params={"h_prev": "prev_h", "W_xh": "Wx", "W_hh": "Wh"}, '
              'returns=0),\n'
              '    "rnn_forward": dict(use="rnn_forward_pass", params=["xs", "h0", "W_xh", "W_hh", "b"], returns=0),\n'
              '    "lstm_cell": dict(use="lstm_step_forward", params=["x", "h_prev", "c_prev", "W_x", "W_h", "b"], '
              'returns=(0, 1))}\n')
    path = tmp_path / "shared.py"
    path.write_text(text[:start] + shared + text[end:])
    outcomes = _outcomes(path, ("rnn_cell", "rnn_forward", "lstm_cell"))
    assert outcomes and not [o for o in outcomes if o.status == "failed"], [o.message for o in outcomes]
    bad = tmp_path / "bad.py"
    bad.write_text(text[:start] + shared.replace('"*": dict(', '"*": dict(use="x", ') + text[end:])
    failed = [o for o in _outcomes(bad, ("rnn_cell",)) if o.status == "failed"]
    assert failed and "'use' cannot be shared" in failed[0].message
