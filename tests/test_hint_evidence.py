"""Hints are never a guess: a known mistake is named only on evidence (lmverify.check.mistake_hint)."""

from __future__ import annotations

import numpy as np
import pytest

from lmverify import registry
from lmverify.check import explains, mistake_hint
from reference.numpy import attention as A

SOFTMAX = registry.get("attention.softmax_temperature")


def _torch_softmax(z: np.ndarray, tau: float) -> np.ndarray:
    torch = pytest.importorskip("torch")
    return torch.softmax(torch.as_tensor(z) / tau, -1).numpy()


def _shifted_softmax(z: np.ndarray, tau: float) -> np.ndarray:
    s = z / tau
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("student", [_torch_softmax, _shifted_softmax], ids=["torch.softmax", "max-shifted numpy"])
def test_softmax_all_minus_inf_row_gets_no_max_shift_hint_only_on_evidence(student):
    """A correct softmax gives NaN on an all -inf row (PyTorch's answer; the suite's convention is zeros).
    'no max-shift' gives NaN there too, but NaN equal to NaN is no evidence: no hint."""
    inputs = {"z": np.array([[-np.inf, -np.inf], [1.0, 2.0]]), "tau": 1.0}
    with np.errstate(all="ignore"):
        got = student(**inputs)
    assert np.isnan(got[0]).all()
    assert mistake_hint(SOFTMAX.mistakes, got, inputs, expected=A.softmax(**inputs)) == ""


def test_no_max_shift_is_named_on_finite_evidence():
    """Near the overflow threshold the sum overflows while each term is finite: the mistake gives finite
    zeros where the right answer is 1/2, and a student who gives those zeros is told."""
    inputs = {"z": np.array([[709.5, 709.5], [1.0, 2.0]]), "tau": 1.0}
    no_shift = next(m for m in SOFTMAX.mistakes if m.name == "no max-shift")
    with np.errstate(all="ignore"):
        got = no_shift.fn(**inputs)
    assert np.isfinite(got).all()
    assert "(no max-shift)" in mistake_hint(SOFTMAX.mistakes, got, inputs, expected=A.softmax(**inputs))


def test_nan_is_evidence_only_from_finite_inputs():
    expected, wrong = np.array([0.5, 0.5]), np.array([np.nan, np.nan])
    assert explains(wrong, wrong, expected, nan_is_evidence=True)
    assert not explains(wrong, wrong, expected, nan_is_evidence=False)
    # a student equal to the mistake where the mistake equals the right answer explains nothing
    assert not explains(expected, expected.copy(), expected, nan_is_evidence=True)
    # unequal shapes or a student off the mistake's numbers: no
    assert not explains(np.array([0.5]), wrong, expected, nan_is_evidence=True)
    assert not explains(np.array([0.4, 0.6]), np.array([0.3, 0.7]), expected)


def test_no_hint_without_the_correct_result():
    inputs = {"z": np.array([[1.0, 2.0]]), "tau": 1.0}
    got = SOFTMAX.mistakes[0].fn(**inputs)
    assert mistake_hint(SOFTMAX.mistakes, got, inputs, expected=None) == ""


def test_single_mistake_hint_before_the_compound_one():
    """A GRU with PyTorch's update convention alone is told that convention first, not 'both conventions'."""
    gru = registry.get("recurrent.gru_cell")
    single = next(m for m in gru.mistakes if m.name == "PyTorch's update convention")
    assert any(m.compound for m in gru.mistakes) and not single.compound
    from reference.numpy import recurrent as R

    hints = [mistake_hint(gru.mistakes, single.fn(**p.kwargs), dict(p.kwargs), expected=R.gru_cell(**p.kwargs))
             for p in gru.pinned]
    assert any(hints)
    for hint in filter(None, hints):
        assert hint.split(" It also")[0].endswith("(PyTorch's update convention).")
