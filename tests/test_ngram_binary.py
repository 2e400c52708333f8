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


# ---------------------------------------------------------------- format 2: the compact float32 scoring tables


@pytest.mark.parametrize("arpa", ARPAS)
def test_ngram_query_tables_hold_each_ngram_once_with_its_float32_values(arpa, tmp_path):
    """The compact tables ``score`` walks: every n-gram of order >= 2 in one slot, found by probing from its home
    slot, holding ``np.float32`` of the model's float64 log10 p and back-off (the values query's float32 sums use);
    the unigrams by id; loads at most 3/4; the binary file holds the same tables, as views of its map."""
    from reference.arpa_binary import ScoringModel
    from reference.arpa_walk import QUERY_LOAD, query_tables

    model = read_arpa(DATA / arpa)
    tables = query_tables(model)
    qk, qv, qt, qtv, geometry, q1 = tables
    V, N = model.vocab_size, model.order
    assert np.array_equal(q1[:, 0], model.logprob[0].astype(np.float32))
    assert np.array_equal(q1[:, 1], model.backoff[0].astype(np.float32))
    slot_of_row = np.arange(V)  # the context of a bigram: the word id
    for k in range(2, N + 1):
        start, size = (int(x) for x in geometry[:, k])
        n = len(model.keys[k - 1])
        keys = _table_keys(tables, k)
        assert n <= QUERY_LOAD * size and n < size and (keys >= 0).sum() == n
        ctx, w = np.divmod(model.keys[k - 1], V)
        found = []
        for key in (slot_of_row[ctx] * V + w).tolist():
            s = ((((key * 0x9E3779B97F4A7C15) % (1 << 64)) >> 32) * size) >> 32
            while keys[s] != key:
                assert keys[s] >= 0, f"order {k}: key {key} not found"
                s = (s + 1) % size
            found.append(s)
        found = np.array(found, dtype=np.int64)
        if k == N:  # the highest order: 12-byte slots, log10 p only
            assert np.array_equal(qtv[found, 2], model.logprob[k - 1].astype(np.float32))
        else:
            slot_of_row = found + start
            assert np.array_equal(qv[slot_of_row, 2], model.logprob[k - 1].astype(np.float32))
            assert np.array_equal(qv[slot_of_row, 3], model.backoff[k - 1].astype(np.float32))
    write_binary(model, tmp_path / "m.bin")
    mapped = ScoringModel(tmp_path / "m.bin")
    for a, b in zip(mapped.__dict__["_query_tables"], tables):
        assert a.tobytes() == b.tobytes() and not a.flags.writeable
    mq = mapped.__dict__["_query_tables"]
    assert np.shares_memory(mq[0], mq[1]) and np.shares_memory(mq[2], mq[3])


def _table_keys(tables, k: int) -> np.ndarray:
    """The keys of order k's slots (-1: empty) of the compact tables."""
    qk, qv, qt, qtv, geometry, q1 = tables
    start, size = (int(x) for x in geometry[:, k])
    if k == geometry.shape[1] - 1:
        return (qt[:size, 1].astype(np.int64) << 32) | (qt[:size, 0].astype(np.int64) & 0xFFFFFFFF)
    return qk[start: start + size, 0]


@pytest.mark.bad_input
def test_ngram_binary_format_1_file_is_named_with_rebuild(tmp_path):
    """A file of the first format (float64 tables only, before the compact scoring tables) is refused by name."""
    path = tmp_path / "old.bin"
    write_binary(read_arpa(DATA / "tiny.o2.arpa"), path)
    data = bytearray(path.read_bytes())
    data[8:12] = struct.pack("<I", 1)
    path.write_bytes(bytes(data))
    with pytest.raises(BinaryModelError, match=r"old.bin: binary model format version 1; this version of lmverify "
                                               rf"reads version {FORMAT_VERSION}: rebuild it with `lmverify ngram build"):
        read_binary(path)
    assert FORMAT_VERSION == 2


def test_ngram_scoring_model_reads_the_words_only_when_asked(tmp_path):
    """``score`` maps a binary file as a ScoringModel: the ids of <unk>, <s>, </s> from the header, the words (and
    the whole model) read only for a word it must look up by name."""
    from reference.arpa import BOS, EOS, UNK
    from reference.arpa_binary import ScoringModel, read_for_scoring

    text = read_arpa(DATA / "corpus.o3.arpa")
    write_binary(text, tmp_path / "m.bin")
    sm = read_for_scoring(tmp_path / "m.bin")
    assert isinstance(sm, ScoringModel) and (sm.order, sm.vocab_size) == (3, text.vocab_size)
    assert [sm.index[w] for w in (UNK, BOS, EOS)] == [text.index[w] for w in (UNK, BOS, EOS)]
    assert sm._full is None and sm.index._index is None
    assert sm.index.get("house", -1) == text.index["house"] and sm.index.get("qqq-not-a-word", -7) == -7
    assert sm.index._index is not None and sm._full is None
    assert sm.full().words == text.words
    assert isinstance(read_for_scoring(DATA / "tiny.o2.arpa"), ScoringModel if _has_kernels() else BackoffModel)


def _has_kernels() -> bool:
    from reference import arpa_walk

    return arpa_walk._jit() is not None


@pytest.mark.parametrize("arpa", ARPAS)
def test_ngram_arpa_read_a_block_at_a_time_gives_the_models_scoring_tables(arpa, monkeypatch, capsysbinary, tmp_path):
    """``score`` reads an ARPA file a block at a time straight into the compact tables (blocks of 300 bytes here:
    sections and lines cut everywhere): the same vocabulary ids, unigrams and, order by order, the same n-grams with
    the same float32 values as the tables of the whole model (slots may differ: keys go in file order), and the
    same output."""
    pytest.importorskip("numba")
    import reference.arpa as arpa_mod
    from reference.arpa import BOS, EOS, UNK, read_arpa_for_scoring
    from reference.arpa_walk import query_tables

    monkeypatch.setattr(arpa_mod, "_SCORING_READ_BLOCK", 300)
    model = read_arpa(DATA / arpa)
    sm = read_arpa_for_scoring(DATA / arpa)
    assert sm is not None and (sm.order, sm.vocab_size) == (model.order, model.vocab_size)
    assert [sm.index.get(w) for w in (UNK, BOS, EOS)] == [model.index.get(w) for w in (UNK, BOS, EOS)]
    assert all(sm.index[w] == i for i, w in enumerate(model.words))
    a, b = sm._packed_vocabulary(), model._packed_vocabulary()
    assert np.array_equal(a[0].keys, b[0].keys) and np.array_equal(a[1], b[1])
    tables, mtables = sm.__dict__["_query_tables"], query_tables(model)
    assert np.array_equal(tables[4], mtables[4]) and tables[5].tobytes() == mtables[5].tobytes()

    def grams(tables, k):
        """{n-gram as word ids: (log10 p, back-off)} of order k, following the context slots down to words."""
        qk, qv, qt, qtv, geometry, q1 = tables
        out, V, keys = {}, model.vocab_size, _table_keys(tables, k)
        for s in np.flatnonzero(keys >= 0).tolist():
            key = int(keys[s])
            value = (float(qtv[s, 2]),) if k == model.order else (float(qv[geometry[0, k] + s, 2]),
                                                                 float(qv[geometry[0, k] + s, 3]))
            ids, j = [key % V], k
            c = key // V
            while j > 2:
                key = int(qk[c, 0])
                ids.append(key % V)
                c, j = key // V, j - 1
            out[tuple([c] + ids[::-1])] = value
        return out

    for k in range(2, model.order + 1):
        assert grams(tables, k) == grams(mtables, k)
    text = tmp_path / "held.txt"
    text.write_text(_held_out_text())
    rc, streamed, _ = _run(monkeypatch, capsysbinary, ["score", str(DATA / arpa), str(text)])
    monkeypatch.setenv("LMVERIFY_NO_NUMBA", "1")
    rc2, arrays, _ = _run(monkeypatch, capsysbinary, ["score", str(DATA / arpa), str(text)])
    assert rc == rc2 == 0 and streamed == arrays


@pytest.mark.bad_input
@pytest.mark.parametrize("how", ["context", "count", "twice", "gzip", "order", "no-end"])
def test_ngram_arpa_streaming_reader_leaves_what_it_does_not_take_to_the_named_errors(how, tmp_path, monkeypatch,
                                                                                    capsysbinary):
    """What the block-at-a-time reader does not take as it is goes to read_arpa: a valid file it does not take
    (gzip) is scored the same; a malformed one is the reader's named error, before anything is printed."""
    pytest.importorskip("numba")
    import gzip

    from reference.arpa import read_arpa_for_scoring

    src = (DATA / "tiny.o3.arpa").read_text()
    path = tmp_path / "m.arpa"
    if how == "context":  # a trigram whose bigram context is not in the file
        lines = src.split("\n")
        i = lines.index("\\3-grams:") + 1
        f = lines[i].split("\t")
        lines[i] = "\t".join([f[0], "zzz-not-a-context " + f[1].split(" ", 1)[1]] + f[2:])
        src = "\n".join(lines)
    elif how == "count":
        src = src.replace("ngram 2=", "ngram 2=1", 1)
    elif how == "twice":
        lines = src.split("\n")
        i = lines.index("\\2-grams:") + 1
        lines.insert(i, lines[i])
        src = "\n".join(lines).replace("ngram 2=18", "ngram 2=19", 1)
    elif how == "order":
        src = src.replace("\\2-grams:", "\\9-grams:")
    elif how == "no-end":
        src = src.replace("\\end\\", "")
    if how == "gzip":
        path.write_bytes(gzip.compress(src.encode()))
    else:
        path.write_text(src)
    assert read_arpa_for_scoring(path) is None
    rc, out, err = _run(monkeypatch, capsysbinary, ["score", str(path)], "a b\n")
    if how == "gzip":
        assert rc == 0 and out.startswith(b"a=")
    else:
        assert rc == 1 and out == b"" and "m.arpa" in err, err


_SENTENCES = HELD_OUT[:40] + ["", "   ", "the\thouse\x0bis\x1cbig  ", "exactly8 the", "exactly9b the",
                              "caf\u00e9 na\u00efve \u00fcber", "the\u00a0house", "the\u2003house", "a\x00b the",
                              "\u3000the", "<s> the </s>", "<unk> house"]


@pytest.mark.parametrize("arpa", ["tiny.o2.arpa", "corpus.o3.arpa"])
def test_ngram_score_sentence_one_kernel_call_equals_the_general_walk(arpa):
    """score_sentence's one compiled call (tokens, ids and walk over the sentence's bytes) gives the general
    path's float64 total bit for bit, with and without <s> and </s>; a sentence it does not take (a token over 8
    bytes, a NUL byte, whitespace beyond ASCII's) goes to the general path."""
    pytest.importorskip("numba")
    model = read_arpa(DATA / arpa)
    for bos in (True, False):
        for eos in (True, False):
            fast = [model.score_sentence(s, bos=bos, eos=eos) for s in _SENTENCES]
            assert model.__dict__["_one_call"], "the one-call path was not used"
            general = BackoffModel(words=model.words, keys=model.keys, logprob=model.logprob, backoff=model.backoff)
            general.__dict__["_one_call"] = False
            slow = [general.score_sentence(s, bos=bos, eos=eos) for s in _SENTENCES]
            assert fast == slow
            assert slow == [general._walk_python([general.index.get(t, general.index["<unk>"]) for t in s.split()]
                                                 + ([general.index["</s>"]] if eos else []), bos)
                            for s in _SENTENCES]


def test_ngram_score_streams_blocks_and_names_bad_utf8_before_printing(tmp_path, monkeypatch, capsysbinary):
    """score reads its text a block at a time: a block with Unicode whitespace takes the array path, the others
    the compiled one, and the output is the array path's for the whole text; a file with a byte that is not UTF-8
    past the first block is refused before anything is printed."""
    pytest.importorskip("numba")
    import lmverify.ngram_cmd as cmd

    arpa = DATA / "corpus.o3.arpa"
    text = _held_out_text() + "the\u2003house is\u00a0big\n" + _held_out_text()
    path = tmp_path / "held.txt"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setattr(cmd, "_SCORE_BLOCK", 5000)
    rc, blocks, _ = _run(monkeypatch, capsysbinary, ["score", str(arpa), str(path)])
    assert rc == cmd.EXIT_OK
    monkeypatch.setenv("LMVERIFY_NO_NUMBA", "1")
    rc, arrays, _ = _run(monkeypatch, capsysbinary, ["score", str(arpa), str(path)])
    assert rc == cmd.EXIT_OK and blocks == arrays and len(arrays) > 100_000
    monkeypatch.delenv("LMVERIFY_NO_NUMBA")
    bad = text.encode("utf-8") + b"caf\xe9\n"
    path.write_bytes(bad)
    rc, out, err = _run(monkeypatch, capsysbinary, ["score", str(arpa), str(path)])
    assert rc == cmd.EXIT_INPUT and out == b"" and f"not UTF-8 text (byte {len(bad) - 2})" in err
