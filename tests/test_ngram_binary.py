"""The binary n-gram model file (reference/arpa_binary.py; `lmverify ngram build`), and the compiled scoring
of `lmverify ngram score` (reference/_arpa_jit.py).

* build -> load -> the same log10 values as the ARPA file, bit for bit (float64 batch, KenLM's float32 sums,
  one sentence at a time), for KenLM's shipped models and for an estimated one;
* the load maps the file: the model's arrays are views of one read-only memory map (nothing is read whole);
* a truncated, overwritten or foreign file, another format version, a damaged header or (with verify) a
  damaged array is a named error;
* the compiled `score` prints what the array path prints, byte for byte, and its float32 formatting equals
  NumPy's shortest positional text wherever it decides one (the rest is left to NumPy).
"""

from __future__ import annotations

import io
import re
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.arpa import BackoffModel, read_arpa, read_model
from reference.arpa_binary import FORMAT_VERSION, MAGIC, BinaryModelError, read_binary, write_binary
from reference.numpy.ngram import estimate_kneser_ney

DATA = Path(__file__).parent / "data" / "kenlm"
ARPAS = ["tiny.o2.arpa", "tiny.o3.arpa", "corpus.o2.arpa", "corpus.o3.arpa", "corpus.o3.nointerp.arpa"]
CORPUS = (DATA / "corpus.txt").read_text(encoding="utf-8").split("\n")
HELD_OUT = CORPUS[:150] + ["zzz the qqq", "house house", "", "a-token-longer-than-eight-bytes the"]


def _pairs(model: BackoffModel):
    h, w = model.sentence_ngrams(HELD_OUT)
    return h, w


@pytest.mark.parametrize("arpa", ARPAS)
def test_ngram_binary_scores_equal_the_arpa_bit_for_bit(arpa, tmp_path):
    text = read_arpa(DATA / arpa)
    write_binary(text, tmp_path / "m.bin")
    binary = BackoffModel.load(tmp_path / "m.bin")
    assert binary.words == text.words and binary.counts() == text.counts() and binary.order == text.order
    for k in range(text.order):
        np.testing.assert_array_equal(binary.keys[k], text.keys[k])
        np.testing.assert_array_equal(binary.logprob[k], text.logprob[k])
        np.testing.assert_array_equal(binary.backoff[k], text.backoff[k])
    h, w = _pairs(text)
    h2, w2 = _pairs(binary)
    np.testing.assert_array_equal(w2, w)
    for float32 in (False, True):
        a, la = text.score_ngrams(h, w, return_length=True, float32=float32)
        b, lb = binary.score_ngrams(h2, w2, return_length=True, float32=float32)
        assert a.tobytes() == b.tobytes() and np.array_equal(la, lb)
    assert [binary.score_sentence(s) for s in HELD_OUT] == [text.score_sentence(s) for s in HELD_OUT]


def test_ngram_binary_of_an_estimated_model_and_read_model_chooses_by_magic(tmp_path):
    model = estimate_kneser_ney(CORPUS, 4, discount_fallback=True)
    model.save_binary(tmp_path / "m.bin")
    from reference.arpa import write_arpa

    write_arpa(model, tmp_path / "m.arpa")
    binary, text = read_model(tmp_path / "m.bin"), read_model(tmp_path / "m.arpa")
    assert "_mapped" in binary.__dict__ and "_mapped" not in text.__dict__
    h, w = _pairs(model)
    # the binary keeps the estimate's float64 values (the ARPA text keeps 9 digits of them)
    assert model.score_ngrams(h, w).tobytes() == binary.score_ngrams(*_pairs(binary)).tobytes()
    assert text.order == binary.order and text.counts() == binary.counts()


def test_ngram_binary_load_maps_the_file_and_reads_no_array(tmp_path):
    """Every array of the loaded model is a view of one read-only memory map of the file (so loading reads
    only the header and the vocabulary; the pages of the arrays are read when scoring touches them)."""
    write_binary(read_arpa(DATA / "corpus.o3.arpa"), tmp_path / "m.bin")
    model = read_binary(tmp_path / "m.bin")
    mm = model.__dict__["_mapped"]
    assert isinstance(mm, np.memmap) and mm.mode == "r"
    arrays = model.keys[1:] + model.logprob + model.backoff + [ix.table for ix in model.__dict__["_hash_index"].values()]
    for a in arrays:
        assert np.shares_memory(a, mm) and not a.flags.writeable, "an array was copied out of the mapped file"


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2]
    elif how == "empty":
        data = bytearray()
    elif how == "magic":
        data[:8] = b"NOTAMODL"
    elif how == "version":
        data[8:12] = struct.pack("<I", FORMAT_VERSION + 1)
    elif how == "header":
        data[30] ^= 0xFF
    elif how == "array":
        data[-9] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.bad_input
@pytest.mark.parametrize("how,message", [
    ("truncated", r"array '\w+' ends at byte \d+ but the file has \d+ bytes \(truncated\?\)"),
    ("empty", r"0 bytes: too short for a binary model file"),
    ("magic", r"not a binary model file"),
    ("version", rf"binary model format version {FORMAT_VERSION + 1}; .* reads version {FORMAT_VERSION}: rebuild"),
    ("header", r"the header is damaged"),
    ("array", r"array '\w+' is damaged \(its CRC-32 does not match\)"),
])
def test_ngram_binary_damaged_files_are_named_errors(how, message, tmp_path):
    path = tmp_path / "m.bin"
    write_binary(read_arpa(DATA / "tiny.o3.arpa"), path)
    _damage(path, how)
    with pytest.raises(BinaryModelError, match=re.escape(str(path)) + ": " + message):
        read_binary(path, verify=True)
    if how == "array":  # without verify the load reads no array: the damage is not seen, by design
        read_binary(path)


def test_ngram_binary_missing_file_is_named(tmp_path):
    with pytest.raises(BinaryModelError, match=r"nope.bin: no such model file"):
        read_binary(tmp_path / "nope.bin")
    assert MAGIC == b"LMVNGRAM"


# ---------------------------------------------------------------- the command: build, and the compiled score


def _run(monkeypatch, capsysbinary, argv, stdin: str = ""):
    from lmverify.ngram_cmd import main

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8"))
    rc = main(argv)
    out = capsysbinary.readouterr()
    return rc, out.out, out.err.decode()


def _held_out_text() -> str:
    """Text of more than 64 KiB (the compiled path's threshold): the corpus's sentences, unknown and long
    words, empty lines."""
    lines = []
    while sum(map(len, lines)) < 80_000:
        lines += HELD_OUT
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("options", [[], ["-n"], ["-v", "sentence"], ["-v", "word", "-v", "summary"]],
                         ids=["default", "no-context", "sentence", "word+summary"])
def test_ngram_score_compiled_binary_prints_what_the_array_path_prints(options, tmp_path, monkeypatch, capsysbinary):
    pytest.importorskip("numba")
    from lmverify.ngram_cmd import EXIT_OK

    arpa = DATA / "corpus.o3.arpa"
    rc, _, err = _run(monkeypatch, capsysbinary, ["build", str(arpa), str(tmp_path / "m.bin")])
    assert rc == EXIT_OK and "binary model of order 3" in err
    text = _held_out_text()
    rc, compiled, _ = _run(monkeypatch, capsysbinary, ["score", str(tmp_path / "m.bin"), *options], text)
    assert rc == EXIT_OK
    monkeypatch.setenv("LMVERIFY_NO_NUMBA", "1")
    rc, arrays, _ = _run(monkeypatch, capsysbinary, ["score", str(arpa), *options], text)
    assert rc == EXIT_OK
    assert compiled == arrays


@pytest.mark.bad_input
def test_ngram_score_and_build_name_a_damaged_binary(tmp_path, monkeypatch, capsysbinary):
    from lmverify.ngram_cmd import EXIT_INPUT

    path = tmp_path / "m.bin"
    write_binary(read_arpa(DATA / "tiny.o2.arpa"), path)
    _damage(path, "truncated")
    rc, out, err = _run(monkeypatch, capsysbinary, ["score", str(path)], "a b\n")
    assert rc == EXIT_INPUT and out == b"" and re.search(r"m.bin: array '\w+' ends at byte", err)
    rc, _, err = _run(monkeypatch, capsysbinary, ["build", str(tmp_path / "none.arpa"), str(tmp_path / "o.bin")])
    assert rc == EXIT_INPUT and "none.arpa: no such ARPA file" in err


@given(x=st.lists(st.one_of(st.floats(-2.0**27, 0.0, width=32), st.floats(-10.0, 0.0, width=32),
                            st.floats(-0.0001220703125, 0.0001220703125, width=32), st.sampled_from([-0.0, 0.0, -1.0, -2.0, -0.5, -99.0])),
                  min_size=1, max_size=50))
def test_ngram_score_float32_text_equals_numpy_shortest_positional(x):
    """Where the compiled formatter decides a value, its text is NumPy's shortest positional text (what query
    prints); a value it leaves undecided is formatted by NumPy itself."""
    jit = pytest.importorskip("reference._arpa_jit")
    from lmverify.ngram_cmd import _f32

    values = np.asarray(x, dtype=np.float32)
    ok, _, _ = jit.f32_digits(values)
    pool, off = jit.format_f32_many(values)
    for i, v in enumerate(values):
        if ok[i]:
            assert bytes(pool[off[i]: off[i + 1]]).decode() == _f32(v), v
    assert ok[np.abs(values) == 1.0].all() and ok[values == -0.5].all()
