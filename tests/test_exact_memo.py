"""lmverify/exact_memo.py: the pinned inputs' exact values kept between runs are exactly what SymPy computes,
and nothing else (a changed source, a damaged file, an input that is not plain: computed again)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from lmverify import exact_memo, registry
from lmverify.backends import Backend

ENTRIES = ("recurrent.lstm_cell", "recurrent.lstm_forward", "attention.scaled_dot_product", "information.entropy",
           "ngram.add_k", "embeddings.skipgram_gradient")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LMVERIFY_CACHE", str(tmp_path))
    monkeypatch.delenv("LMVERIFY_EXACT_MEMO", raising=False)
    return tmp_path


def _same(a, b) -> bool:
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")


def _pins():
    by_id = {e.id: e for e in registry.load()}
    for eq in ENTRIES:
        e = by_id[eq]
        for pin in e.pinned:
            if pin.exact:
                yield e, pin


def test_kept_values_are_the_sympy_values_bit_for_bit_when_written_and_when_read(cache):
    plain, memo = Backend("sympy"), Backend("sympy", memo=True)
    n = 0
    for e, pin in _pins():
        want = plain.call(e.function_topic, e.function_name, **pin.kwargs)
        first = memo.call(e.function_topic, e.function_name, **pin.kwargs)  # computed and written
        again = memo.call(e.function_topic, e.function_name, **pin.kwargs)  # read back
        assert _same(first, want) and _same(again, want), (e.id, pin.label, want, again)
        n += 1
    assert n >= 10
    assert len(list(cache.rglob("*.npz"))) >= 10


def test_a_kept_value_is_read_not_computed_and_a_damaged_file_is_computed_again(cache):
    x = np.array([0.25, -1.5, 3.0])
    calls = []

    def compute():
        calls.append(1)
        return (np.array([1.0, np.nan]), np.float64(-0.0))

    first = exact_memo.computed("t", "f", (), {"x": x}, compute)
    second = exact_memo.computed("t", "f", (), {"x": x.copy()}, compute)
    assert len(calls) == 1 and _same(first, second)
    assert np.signbit(second[1])  # -0.0 kept bit for bit
    (path,) = cache.rglob("*.npz")
    path.write_bytes(b"not a file numpy wrote")
    third = exact_memo.computed("t", "f", (), {"x": x}, compute)
    assert len(calls) == 2 and _same(third, first)
    assert _same(exact_memo.computed("t", "f", (), {"x": x}, compute), first) and len(calls) == 2  # replaced
    path.write_bytes(path.read_bytes()[:-30])  # its end cut off: np.load raises zipfile.BadZipFile
    assert _same(exact_memo.computed("t", "f", (), {"x": x}, compute), first) and len(calls) == 3


def test_inputs_differing_in_one_bit_dtype_shape_or_name_are_kept_apart(cache):
    x = np.array([0.1, 0.2])
    keys = {exact_memo.input_key("t", "f", (), {"x": x}),
            exact_memo.input_key("t", "f", (), {"x": np.nextafter(x, 1)}),
            exact_memo.input_key("t", "f", (), {"x": x.astype(np.float32)}),
            exact_memo.input_key("t", "f", (), {"x": x.reshape(2, 1)}),
            exact_memo.input_key("t", "f", (), {"y": x}),
            exact_memo.input_key("t", "g", (), {"x": x}),
            exact_memo.input_key("t", "f", (), {"x": [0.1, 0.2]}),
            exact_memo.input_key("t", "f", (), {"x": (0.1, 0.2)})}
    assert len(keys) == 8 and None not in keys


def test_inputs_that_are_not_plain_values_are_computed_every_time(cache):
    calls = []
    table = registry.load()[0]  # an object: no bytes to key it by
    for _ in range(2):
        exact_memo.computed("t", "f", (), {"model": table}, lambda: calls.append(1) or np.float64(1.0))
    assert len(calls) == 2 and not list(cache.rglob("*.npz"))


def test_the_code_key_changes_with_any_source_file(tmp_path, monkeypatch):
    monkeypatch.setattr(exact_memo, "ROOT", tmp_path)
    src = tmp_path / "specs"
    src.mkdir()
    (src / "a.py").write_text("def f(x):\n    return x\n")
    before = exact_memo.code_key((src,))
    (src / "a.py").write_text("def f(x):\n    return 2 * x\n")
    assert exact_memo.code_key((src,)) != before
    assert {str(s.relative_to(exact_memo.SOURCES[0].parent)) for s in exact_memo.SOURCES} >= {
        "specs", os.path.join("reference", "numpy"), os.path.join("lmverify", "convert.py")}


def test_switched_off_or_unwritable_the_value_is_still_computed(cache, monkeypatch):
    monkeypatch.setenv("LMVERIFY_EXACT_MEMO", "0")
    assert exact_memo.computed("t", "f", (), {"x": 1.0}, lambda: np.float64(2.0)) == 2.0
    assert not list(cache.rglob("*.npz"))
    monkeypatch.delenv("LMVERIFY_EXACT_MEMO")
    blocked = cache / "file"
    blocked.write_text("")
    monkeypatch.setenv("LMVERIFY_CACHE", str(blocked))  # a file where the folder should be
    assert exact_memo.computed("t", "f", (), {"x": 1.0}, lambda: np.float64(3.0)) == 3.0
