"""Generic tests, generated from the equation registry (``lmverify/registry/<topic>.py``).

Each test below runs for every registry entry that declares what it needs (see
:mod:`lmverify.registry`); its id is the equation id (``test_matches_oracle[attention.softmax_temperature-numpy]``)
and it carries the equation's topic marker, so ``pytest -k softmax`` or ``-k attention`` selects it.
"""

from __future__ import annotations

import inspect
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st

from lmverify import catalogue, convert
from lmverify.backends import Backend, NotCovered
from lmverify.check import Check
from lmverify.compare import VerificationError, close_elementwise
from lmverify.tolerance import tolerance_for

def _skip_if_declared(entry, backend: Backend) -> None:
    reason = entry.skip.get(backend.name)
    if reason:
        pytest.skip(f"{entry.id} on {backend.name}: {reason}")


def _signature(fn) -> list[tuple[str, str, bool]]:
    return [(p.name, p.kind.name, p.default is not p.empty) for p in inspect.signature(fn).parameters.values()]


def test_forms_share_one_signature(entry):
    """The SymPy, NumPy and PyTorch forms take the same parameters: names, order, kinds, which have defaults."""
    sigs = {}
    for form in catalogue.FORMS:
        mod = catalogue.form_module(form, entry.function_topic)
        fn = getattr(mod, entry.function_name, None)
        assert fn is not None, f"{entry.id}: {mod.__name__} has no function {entry.function_name!r}"
        sigs[form] = _signature(fn)
    assert sigs["symbolic"] == sigs["numpy"] == sigs["torch"], (
        f"{entry.id}: the three forms of {entry.function_name} must take the same parameters:\n"
        + "\n".join(f"  {form:5s}: {sig}" for form, sig in sigs.items())
    )


@given(data=st.data())
def test_matches_oracle(entry, backend, data):
    """Every backend against its oracle on drawn inputs: SymPy (exact) checks NumPy; NumPy checks the rest."""
    _skip_if_declared(entry, backend)
    check = Check(entry.id, backend)
    kwargs = data.draw(entry.inputs(exact=check.exact), label="inputs")
    check.agree(**kwargs)


@pytest.mark.numeric
def test_pinned_inputs_match_exact(entry, backend):
    """Pinned inputs (extremes, ties, zeros, the page's numbers) against the exact SymPy value."""
    _skip_if_declared(entry, backend)
    exact, numpy = Backend("sympy", memo=True), Backend("numpy")  # exact values kept between runs (exact_memo)
    declined = []
    for pin in entry.pinned:
        check = Check(entry.id, backend, exact if pin.exact else numpy)
        try:
            check.agree(**pin.kwargs)
        except NotCovered as exc:  # a student's code declined this input: the other pinned inputs still run
            declined.append(f"{pin.label!r}: {str(exc).removeprefix('not covered: ')}")
        except VerificationError as exc:
            if exc.failure is None:
                raise
            raise VerificationError(replace(exc.failure, heading=f"[pinned input {pin.label!r}]",
                                            input_label=f"pinned: {pin.label}")) from None
    if entry.pinned and len(declined) == len(entry.pinned):
        raise NotCovered(f"not covered: every pinned input was declined ({'; '.join(declined[:3])})")


@pytest.mark.numeric
@given(data=st.data())
def test_batched_equals_loop(entry, backend, data):
    """A leading batch axis on the batchable arguments gives the stack of the unbatched results."""
    _skip_if_declared(entry, backend)
    check = Check(entry.id, backend)
    n = data.draw(st.integers(1, 3), label="batch")
    kwargs = data.draw(entry.inputs(exact=False, batch=n), label="inputs")
    got = check.call(**kwargs)
    parts = [check.reference(**{k: (v[i] if k in entry.batch_args else v) for k, v in kwargs.items()})
             for i in range(n)]
    if isinstance(got, tuple):
        for j in range(len(got)):
            check.close(got[j], np.stack([p[j] for p in parts]), what=f"batched result [{j}]",
                        expected_from="the unbatched reference, one batch element at a time")
    else:
        check.close(got, np.stack(parts), what="batched result",
                    expected_from="the unbatched reference, one batch element at a time")


def _symbolic_args(kwargs: dict, wrt: tuple[str, ...]) -> tuple[dict, dict]:
    """Replace each array in ``wrt`` by a matrix of symbols; return (symbolic kwargs, symbol -> value)."""
    sym_kwargs, values = {}, {}
    for k, v in kwargs.items():
        if k in wrt:
            arr = np.asarray(v, dtype=np.float64)
            syms = np.empty(arr.shape, dtype=object)
            for idx in np.ndindex(arr.shape):
                s = sp.Symbol(f"{k}_{'_'.join(map(str, idx))}", real=True)
                syms[idx] = s
                values[s] = convert.to_sympy(float(arr[idx]))
            sym_kwargs[k] = convert.object_array_to_sympy(syms)
        else:
            sym_kwargs[k] = convert.to_sympy(v) if isinstance(v, (np.ndarray, float)) else v
    return sym_kwargs, values


def test_gradient_matches_sympy(entry):
    """torch autograd (float64) of sum(outputs * cotangent) equals SymPy's exact derivative."""
    kwargs = {k: (np.asarray(v, dtype=np.float64) if isinstance(v, list) else v) for k, v in entry.grad_at.items()}
    spec = catalogue.form_function("symbolic", entry.function_topic, entry.function_name)
    ref = catalogue.form_function("torch", entry.function_topic, entry.function_name)
    sym_kwargs, values = _symbolic_args(kwargs, entry.grad)
    out = spec(**sym_kwargs)
    outs = out if isinstance(out, tuple) else (out,)
    rng = np.random.default_rng(0)
    scalar, cot = sp.Integer(0), []
    for o in outs:
        arr = convert.sympy_to_object_array(o)
        w = rng.integers(-3, 4, size=arr.shape)
        cot.append(w)
        scalar += sum((int(w[idx]) * arr[idx] for idx in np.ndindex(arr.shape)), sp.Integer(0))
    t_kwargs = {k: (torch.tensor(v, dtype=torch.float64, requires_grad=k in entry.grad)
                    if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    t_out = ref(**t_kwargs)
    t_outs = t_out if isinstance(t_out, tuple) else (t_out,)
    total = sum((o * torch.tensor(w, dtype=torch.float64)).sum() for o, w in zip(t_outs, cot))
    grads = torch.autograd.grad(total, [t_kwargs[k] for k in entry.grad])
    check = Check(entry.id, Backend("torch64"), Backend("sympy"))
    check.inputs = kwargs
    for k, g in zip(entry.grad, grads):
        arr = np.asarray(kwargs[k], dtype=np.float64)
        expected = np.empty(arr.shape)
        for idx in np.ndindex(arr.shape):
            s = sp.Symbol(f"{k}_{'_'.join(map(str, idx))}", real=True)
            expected[idx] = float(sp.N(sp.diff(scalar, s).subs(values), 30))
        check.close(g.numpy(), expected, tol=tolerance_for("float64", entry.id),
                    what=f"d(sum(outputs * cotangent)) / d{k} by torch autograd", expected_from="SymPy diff (exact)")


@pytest.mark.parametrize("form", ["sympy", "numpy", "torch64", "torch32"])
def test_error_inputs_are_refused(entry, form):
    """Each declared bad input raises the declared error, with a message naming what was wrong."""
    b = Backend(form)
    for bad in entry.errors:
        with pytest.raises(bad.error, match=bad.match):
            b.call(entry.function_topic, entry.function_name, **bad.kwargs)


def test_known_mistakes_are_caught(entry):
    """Each known student mistake disagrees with the reference on some pinned input, and is recognised."""
    from lmverify.check import mistake_hint

    ref = Backend("numpy")
    assert entry.pinned, f"{entry.id}: a registry entry with mistakes needs pinned inputs to catch them on"
    for pin in entry.pinned:  # a correct result never gets a hint
        right = ref.call(entry.function_topic, entry.function_name, **pin.kwargs)
        assert mistake_hint(entry.mistakes, right, pin.kwargs, expected=right) == "", (
            f"{entry.id}: a hint fired on the correct result for the pinned input {pin.label!r}")
    for m in entry.mistakes:
        caught = False
        for pin in entry.pinned:
            expected = ref.call(entry.function_topic, entry.function_name, **pin.kwargs)
            with np.errstate(all="ignore"):
                wrong = m.fn(**pin.kwargs)
            exp_t = expected if isinstance(expected, tuple) else (expected,)
            wrong_t = wrong if isinstance(wrong, tuple) else (wrong,)
            tol = tolerance_for("float32")
            for e, w in zip(exp_t, wrong_t):
                e, w = np.asarray(e, dtype=np.float64), np.asarray(convert.to_numpy(w), dtype=np.float64)
                if e.shape != w.shape or not np.all(close_elementwise(w, e, tol)):
                    caught = True
            if caught:
                assert mistake_hint([m], wrong, pin.kwargs, expected=expected), \
                    f"{entry.id}: mistake {m.name} is not recognised"
                break
        assert caught, f"{entry.id}: the mistake {m.name!r} agrees with the reference on every pinned input"
