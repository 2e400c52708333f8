"""The n-gram kernels compiled ahead of time (reference/_arpa_aot.py): the same results as Numba's JIT functions they
are compiled from and as the NumPy paths, the cache (key, damaged entries, a failed build, two processes at once),
the argument checks, and a command that imports no Numba.

The extension is built at most once per machine and kernel source (the user's cache, ``$LMVERIFY_CACHE``); the
cache's own tests copy that extension into a temporary cache through a stand-in for the compiler, so the
suite never compiles twice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("numba")

from reference import _arpa_aot, arpa_walk  # noqa: E402

DATA = Path(__file__).parent / "data" / "kenlm"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def kernels():
    """The ahead-of-time kernels of the user's cache (built here if this machine has none for this source)."""
    if shutil.which(os.environ.get("CC", "cc")) is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: the ahead-of-time kernels cannot be built (the JIT fallback is tested below)")
    k = _arpa_aot.load()
    if k is None:
        root = _arpa_aot.cache_root()
        probe = root if os.path.isdir(root) else os.path.dirname(root)
        if not os.access(probe, os.W_OK):
            pytest.skip(f"the kernel cache {root} is not writable (set LMVERIFY_CACHE)")
    assert k is not None, "the ahead-of-time build failed on a machine with a C compiler (see stderr)"
    return k


def _fake_compiler(kernels, calls: list):
    """A stand-in for the compiler: copies the already built extension into the build folder."""

    def compile_fn(tmp: str) -> None:
        calls.append(tmp)
        shutil.copy(kernels.path, os.path.join(tmp, _arpa_aot.MODULE + _arpa_aot._ext_suffix()))

    return compile_fn


# ---------------------------------------------------------------- same results as the JIT and NumPy paths


class _Recorder:
    """The kernels, recording every call (copies of its arguments and of its result, before the caller changes
    them)."""

    def __init__(self, k) -> None:
        self.k = k
        self.calls: list = []

    def __getattr__(self, name):
        if name == "unchecked":  # the kernels without their argument checks: recorded the same way
            return {n: self._recording(n, f) for n, f in self.k.unchecked.items()}
        return self._recording(name, getattr(self.k, name))

    def _recording(self, name, f):
        def call(*args):
            saved = [_copy(a) for a in args]
            out = f(*args)
            self.calls.append((name, saved, _copy(out)))
            return out

        return call


def _copy(x):
    if isinstance(x, np.ndarray):
        c = np.array(x, copy=True)
        c.setflags(write=x.flags.writeable)  # the same Numba specialisation as the caller's
        return c
    if isinstance(x, tuple):
        return tuple(_copy(v) for v in x)
    return x


def _same(a, b) -> bool:
    """Equal to the bit: arrays of one dtype and shape with the same bytes, scalars equal (floats by their
    bits), tuples element by element."""
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, np.ndarray):
        return (isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())
    if isinstance(a, float):
        return np.float64(a).tobytes() == np.float64(b).tobytes()
    return type(a) is type(b) and a == b


def _held_out() -> str:
    """Held-out text over 64 KiB (the compiled scorer's threshold): training lines, unknown and long words."""
    lines = (DATA / "corpus.txt").read_text().split("\n")[:200] + ["zzz the qqq", "", "a-token-longer-than-eight x"]
    text = []
    while sum(map(len, text)) < 70_000:
        text += lines
    return "\n".join(text) + "\n"


def test_aot_kernels_give_the_numba_jit_results_bit_for_bit(kernels, tmp_path, monkeypatch, capsys):
    """estimate, build, score, score_sentence and score_ngrams run on the ahead-of-time kernels (the thresholds
    that keep small inputs on NumPy set to 0); every call of every kernel, replayed on Numba's JIT function it
    was compiled from, gives the same bytes."""
    import reference.arpa as arpa
    import reference.numpy.ngram as ngram
    from lmverify.ngram_cmd import EXIT_OK, main
    from reference import _arpa_jit

    monkeypatch.delenv("LMVERIFY_NO_NUMBA", raising=False)
    monkeypatch.delenv("LMVERIFY_NO_AOT", raising=False)
    rec = _Recorder(kernels)
    monkeypatch.setattr(arpa_walk, "_AOT", rec)
    monkeypatch.setattr(ngram, "_COMPILED_READ_AT", 0)
    monkeypatch.setattr(ngram, "_COMPILED_AT_TOKENS", 0)
    monkeypatch.setattr(arpa, "_COMPILED_WRITE_AT", 0)
    monkeypatch.setattr(arpa, "_COMPILED_READ_AT", 0)
    monkeypatch.setattr(arpa, "_COMPILED_HASH_AT", 0)
    model_path, bin_path, text = tmp_path / "m.arpa", tmp_path / "m.bin", tmp_path / "held.txt"
    text.write_text(_held_out())
    assert main(["estimate", str(DATA / "corpus.txt"), "-o", "3", "--arpa", str(model_path)]) == EXIT_OK
    assert main(["estimate", str(DATA / "corpus.txt"), "-o", "7", "--discount_fallback",  # V^7 >= 2^63: ranks
                 "--arpa", str(tmp_path / "m7.arpa")]) == EXIT_OK
    monkeypatch.setattr(ngram, "_INT32_BOUND", 16)  # every table int64: the int64 radix sort
    assert main(["estimate", str(DATA / "corpus.txt"), "-o", "7", "--discount_fallback",
                 "--arpa", str(tmp_path / "m7wide.arpa")]) == EXIT_OK
    assert (tmp_path / "m7wide.arpa").read_bytes() == (tmp_path / "m7.arpa").read_bytes()
    monkeypatch.setattr(ngram, "_INT32_BOUND", 2**31)
    assert main(["build", str(model_path), str(bin_path)]) == EXIT_OK
    for path in (model_path, bin_path):
        assert main(["score", str(path), str(text)]) == EXIT_OK
    capsys.readouterr()
    model = arpa.read_model(bin_path)
    sentences = (DATA / "corpus.txt").read_text().split("\n")[:50] + ["zzz a-token-longer-than-eight the"]
    walked = [model.score_sentence(s) for s in sentences]  # the last: sentence_total says no, then walk
    h = np.array([[1, 4], [-1, 4], [5, 6], [0, 0]], dtype=np.int64)
    model.score_ngrams(h, np.array([4, 5, 6, 2]), float32=True)
    rec.format_f32_many(np.array([-0.5, -1.2690202, 3e-6, -99.0, 0.0], dtype=np.float32))
    assert all(isinstance(w, float) for w in walked)

    seen = {name for name, _, _ in rec.calls}
    assert seen == set(_arpa_aot.KERNELS), f"kernels never called: {set(_arpa_aot.KERNELS) - seen}"
    for name, args, out in rec.calls:
        expected = getattr(_arpa_jit, name)(*[_copy(a) for a in args])
        if name == "encode_text":
            out, expected = _defined_part(out), _defined_part(expected)
        assert _same(out, expected), f"{name}: the ahead-of-time result differs from Numba's JIT result"


def _defined_part(out: tuple) -> tuple:
    """encode_text's result without what it leaves undefined: grown word arrays past ``n_words`` and the byte
    pool past ``pool_used`` (np.empty)."""
    ids, per_line, table, wstart, wlen, wpool, n_words, pool_used = out
    return ids, per_line, table, wstart[:n_words], wlen[:n_words], wpool[:pool_used], n_words, pool_used


def _select(mode: str, kernels, monkeypatch) -> None:
    """The NumPy paths (``numpy``) or the ahead-of-time kernels (any other mode)."""
    if mode == "numpy":
        monkeypatch.setenv("LMVERIFY_NO_NUMBA", "1")
        assert arpa_walk._jit() is None
    else:
        monkeypatch.delenv("LMVERIFY_NO_NUMBA", raising=False)
        monkeypatch.delenv("LMVERIFY_NO_AOT", raising=False)
        monkeypatch.setattr(arpa_walk, "_AOT", kernels)
        assert arpa_walk._jit() is kernels


@pytest.mark.parametrize("order", [3, 5, 7])
def test_aot_estimate_and_score_equal_the_numpy_paths(order, kernels, tmp_path, monkeypatch, capsysbinary):
    """The command's bytes (the ARPA file; score's output on ARPA and binary models) with the ahead-of-time kernels
    and with the NumPy paths (``LMVERIFY_NO_NUMBA=1``) are the same; at order 7 V^7 >= 2^63, so the counting
    ranks positions order by order (the radix sort; fixed discounts where the counts of counts allow none)."""
    import reference.arpa as arpa
    import reference.numpy.ngram as ngram
    from lmverify.ngram_cmd import EXIT_OK, main

    monkeypatch.setattr(ngram, "_COMPILED_READ_AT", 0)
    monkeypatch.setattr(ngram, "_COMPILED_AT_TOKENS", 0)
    monkeypatch.setattr(arpa, "_COMPILED_WRITE_AT", 0)
    text = tmp_path / "held.txt"
    text.write_text(_held_out())
    out = {}
    for mode in ("aot", "numpy"):
        _select(mode, kernels, monkeypatch)
        m = tmp_path / f"{mode}.arpa"
        assert main(["estimate", str(DATA / "corpus.txt"), "-o", str(order), "--arpa", str(m),
                     "--discount_fallback"]) == EXIT_OK
        assert main(["build", str(m), str(tmp_path / f"{mode}.bin")]) == EXIT_OK
        capsysbinary.readouterr()
        scored = []
        for path in (m, tmp_path / f"{mode}.bin"):
            assert main(["score", str(path), str(text)]) == EXIT_OK
            scored.append(capsysbinary.readouterr().out)
        out[mode] = (m.read_bytes(), *scored)
    assert out["aot"][0] == out["numpy"][0]
    assert out["aot"][1] == out["numpy"][1] == out["aot"][2] == out["numpy"][2]


@pytest.mark.parametrize("options", [[], ["-n"], ["-v", "sentence"], ["-v", "summary"]], ids=["all", "-n", "sentence",
                                                                                           "summary"])
def test_compiled_score_in_blocks_prints_what_the_array_path_prints(options, kernels, tmp_path, monkeypatch,
                                                                    capsysbinary):
    """score's compiled path takes the text a block of lines at a time: with blocks of 777 bytes (lines cut
    nowhere, a line longer than a block, a last line without a newline) the output is the array path's."""
    import lmverify.ngram_cmd as cmd

    text = tmp_path / "held.txt"
    long_line = " ".join(["the house"] * 150 + ["zzz-a-token-longer-than-eight"] * 10)
    text.write_text(_held_out() + long_line + "\n" + _held_out()[:5000] + "last line without newline")
    out = {}
    monkeypatch.setattr(cmd, "_SCORE_BLOCK", 777)
    for mode in ("blocks", "numpy"):
        _select(mode, kernels, monkeypatch)
        assert cmd.main(["score", str(DATA / "corpus.o3.arpa"), str(text), *options]) == cmd.EXIT_OK
        out[mode] = capsysbinary.readouterr().out
    assert out["blocks"] == out["numpy"] and len(out["blocks"]) > 100


def test_aot_command_imports_no_numba_scipy_torch_or_sympy(kernels, tmp_path):
    """estimate (compiled reading from a pipe, counting, writing), build and score (compiled, 64 KiB of text) in
    a fresh process: none of Numba, llvmlite, SciPy, PyTorch, SymPy is imported."""
    rng = np.random.default_rng(7)
    words = np.array([f"w{i}" for i in range(3000)])
    lines = [" ".join(words[rng.zipf(1.3, size=12) % 3000]) for _ in range(7000)]
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(lines) + "\n")
    held = tmp_path / "h.txt"
    held.write_text("\n".join(lines[:6000]) + "\n")
    script = (
        "import sys\n"
        "from lmverify.ngram_cmd import main\n"
        f"sys.stdin = open({str(corpus)!r})\n"
        f"assert main(['estimate', '-', '-o', '3', '--arpa', {str(tmp_path / 'm.arpa')!r}]) == 0\n"
        f"assert main(['build', {str(tmp_path / 'm.arpa')!r}, {str(tmp_path / 'm.bin')!r}]) == 0\n"
        f"sys.stdout = open({str(tmp_path / 'out.txt')!r}, 'w')\n"
        f"assert main(['score', {str(tmp_path / 'm.bin')!r}, {str(held)!r}]) == 0\n"
        "from reference import arpa_walk\n"
        "print(type(arpa_walk._jit()).__name__, file=sys.stderr)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('numba', 'llvmlite', 'scipy', 'torch', 'sympy')), file=sys.stderr)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("LMVERIFY_NO_NUMBA", "LMVERIFY_NO_AOT")}
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-2:] == ["Kernels", "[]"], proc.stderr
    assert (tmp_path / "out.txt").read_text().count("Total: ") == 6000


def _same_model(a, b) -> bool:
    return (a.words == b.words and a.index == b.index and len(a.keys) == len(b.keys)
            and all(_same(x, y) for x, y in zip(a.keys + a.logprob + a.backoff, b.keys + b.logprob + b.backoff)))


#: numbers the compiled reader parses (plain decimals of up to 15 digits, powers of ten up to 22) and those it
#: leaves to Python's float() (more digits, inf, underscores, large exponents)
_NUMBERS = ["-1.2690202", "-0", "0", "-0.000000000001234567890123", "-12345678901234.5", "-1234567890123456",
            "-1.5e-3", "-15E+2", "+0.0", "-.5", "-5.", "-inf", "-1_0", "-1e-30", "-0.1234567890123456789",
            "-3.0000000000000004", "-99", "-4e22", "-4e23", "-2.2250738585072014e-308"]


def test_compiled_arpa_reader_gives_the_python_readers_model(kernels, tmp_path, monkeypatch):
    """Every shipped ARPA file, a gzip copy, and a file with numbers of every form: the compiled reader's model
    (threshold 0) is the Python reader's, bit for bit."""
    import gzip

    import reference.arpa as arpa

    _select("aot", kernels, monkeypatch)
    lines = ["", "\\data\\", f"ngram 1={len(_NUMBERS) + 1}", "ngram 2=2", "", "\\1-grams:", "-1\t<s>\t-0.5"]
    lines += [f"{x}\tw{i}\t{_NUMBERS[-1 - i] if _NUMBERS[-1 - i] != '-inf' else '-99'}" for i, x in enumerate(_NUMBERS)]
    lines += ["", "  \\2-grams:", "-0.25\tw0 w1", "\t-1e-2 \t w1\t\tw2  ", "", "\\end\\", "trailing text"]
    odd = tmp_path / "numbers.arpa"
    odd.write_text("\n".join(lines))
    (tmp_path / "corpus.o3.arpa.gz").write_bytes(gzip.compress((DATA / "corpus.o3.arpa").read_bytes()))
    paths = sorted(DATA.glob("*.arpa")) + [odd, tmp_path / "corpus.o3.arpa.gz"]
    for path in paths:
        monkeypatch.setattr(arpa, "_COMPILED_READ_AT", 1 << 62)
        python = arpa.read_arpa(path)
        monkeypatch.setattr(arpa, "_COMPILED_READ_AT", 0)
        b = np.frombuffer(arpa._arpa_bytes(str(path))[0], dtype=np.uint8)
        compiled = arpa._read_arpa_compiled(b, kernels)
        assert compiled is not None, f"{path.name}: the compiled reader left it to Python"
        assert _same_model(compiled, python), path.name
        assert _same_model(arpa.read_arpa(path), python), path.name
    assert python.order == 3


def test_compiled_hash_table_is_the_whole_array_rounds_table(kernels, monkeypatch):
    """hash_rows places the keys as _HashIndex's whole-array rounds do: the same table, slot for slot (a binary
    model file holds it), on keys that collide often (a table of 16 slots for 7 keys, runs of equal home slots)."""
    import reference.arpa as arpa

    _select("aot", kernels, monkeypatch)
    rng = np.random.default_rng(3)
    for keys in (np.sort(rng.choice(10**12, size=200_000, replace=False)), np.arange(7, dtype=np.int64) * 2**58,
                 np.zeros(0, dtype=np.int64)):
        monkeypatch.setattr(arpa, "_COMPILED_HASH_AT", 0)
        compiled = arpa._HashIndex(keys)
        monkeypatch.setattr(arpa, "_COMPILED_HASH_AT", 1 << 62)
        assert compiled.table.tobytes() == arpa._HashIndex(keys).table.tobytes()


# ---------------------------------------------------------------- the cache


def test_aot_cache_key_changes_with_the_kernel_source():
    source = (ROOT / "reference" / "_arpa_jit.py").read_bytes()
    key = _arpa_aot.cache_key(source)
    assert key == _arpa_aot.cache_key()
    assert _arpa_aot.cache_key(source.replace(b"_MULT = 0x9E3779B97F4A7C15", b"_MULT = 0x9E3779B97F4A7C17")) != key
    assert _arpa_aot.cache_key(source + b"\n") != key


def test_aot_cache_builds_once_then_loads(kernels, tmp_path, capsys):
    calls: list = []
    first = _arpa_aot.load(str(tmp_path), _fake_compiler(kernels, calls))
    err = capsys.readouterr().err
    assert first is not None and len(calls) == 1
    assert "compiling the n-gram kernels once" in err and str(tmp_path) in err and "compiled the n-gram kernels in" in err
    again = _arpa_aot.load(str(tmp_path), _fake_compiler(kernels, calls))
    assert again is not None and len(calls) == 1 and capsys.readouterr().err == ""
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # the build folder was renamed, not left
    values = np.array([3, 1, 3, 2, 2, 2], dtype=np.int64)
    values.sort()
    assert _same(again.sorted_runs(values), kernels.sorted_runs(values))


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "no manifest", "other key", "empty folder"])
def test_aot_cache_damaged_entry_is_rebuilt_not_trusted(damage, kernels, tmp_path, capsys):
    calls: list = []
    assert _arpa_aot.load(str(tmp_path), _fake_compiler(kernels, calls)) is not None
    entry = tmp_path / f"ngram-kernels-{_arpa_aot.cache_key()}"
    so = entry / (_arpa_aot.MODULE + _arpa_aot._ext_suffix())
    good = so.read_bytes()
    if damage in ("truncated", "flipped byte"):
        # a new file in its place: this process has the old one mapped (damaging that in place is a SIGBUS here,
        # what any loaded shared library does); the next process reads the damaged one
        so.unlink()
        so.write_bytes(good[:4096] if damage == "truncated" else
                       good[: len(good) // 2] + bytes([good[len(good) // 2] ^ 0xFF]) + good[len(good) // 2 + 1:])
    elif damage == "no manifest":
        (entry / "manifest.json").unlink()
    elif damage == "other key":
        (entry / "manifest.json").write_text('{"key": "0123", "sha256": "x"}')
    else:
        shutil.rmtree(entry)
        entry.mkdir()
    capsys.readouterr()
    k = _arpa_aot.load(str(tmp_path), _fake_compiler(kernels, calls))
    err = capsys.readouterr().err
    assert k is not None and len(calls) == 2
    assert "are not usable" in err and "rebuilding them" in err
    values = np.array([1, 1, 5], dtype=np.int64)
    assert _same(k.sorted_runs(values), kernels.sorted_runs(values))


def test_aot_cache_two_processes_at_once_compile_once(kernels, tmp_path):
    """Two loaders at once (threads: the lock is on the open file, as between two xdist workers): one builds,
    the other waits and loads that entry."""
    calls: list = []
    slow = _fake_compiler(kernels, calls)
    started = threading.Event()

    def compile_fn(tmp):
        started.set()
        threading.Event().wait(0.3)
        slow(tmp)

    got = []
    threads = [threading.Thread(target=lambda: got.append(_arpa_aot.load(str(tmp_path), compile_fn)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(got) == 2 and all(k is not None for k in got) and len(calls) == 1 and started.is_set()


def test_aot_failed_build_falls_back_to_numba_jit_with_a_named_message(tmp_path, monkeypatch, capsys):
    calls: list = []

    def broken(tmp):
        calls.append(tmp)
        raise RuntimeError("the compiler exited with 1: gcc: not found")

    assert _arpa_aot.load(str(tmp_path), broken) is None
    err = capsys.readouterr().err
    assert ("could not compile the n-gram kernels ahead of time (RuntimeError: the compiler exited with 1: "
            "gcc: not found); using Numba's just-in-time kernels instead") in err
    failed = tmp_path / f"ngram-kernels-{_arpa_aot.cache_key()}.failed"
    assert failed.exists() and str(failed) in err
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert _arpa_aot.load(str(tmp_path), broken) is None and len(calls) == 1  # said once, not retried
    assert capsys.readouterr().err == ""
    # the callers then use Numba's JIT kernels
    from reference import _arpa_jit

    monkeypatch.delenv("LMVERIFY_NO_NUMBA", raising=False)
    monkeypatch.delenv("LMVERIFY_NO_AOT", raising=False)
    monkeypatch.setattr(arpa_walk, "_AOT", None)
    monkeypatch.setattr(_arpa_aot, "cache_root", lambda: str(tmp_path))
    assert arpa_walk._jit() is _arpa_jit
    monkeypatch.setenv("LMVERIFY_NO_NUMBA", "1")
    assert arpa_walk._jit() is None


def test_aot_unwritable_cache_falls_back_with_a_named_message(tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    assert _arpa_aot.load(str(blocker / "cache"), lambda tmp: None) is None
    err = capsys.readouterr().err
    assert "could not compile the n-gram kernels ahead of time" in err and "not-a-folder" in err


# ---------------------------------------------------------------- the argument checks


def test_aot_arguments_are_checked_against_the_declared_types(kernels):
    # a bytes argument: bytes-like objects become bytes, anything else is named
    with pytest.raises(TypeError, match=r"sentence_total: argument 0 must be bytes, got str"):
        kernels.sentence_total("a b", -1, -1, np.zeros(20, np.int64), np.full((16, 2), -1, np.int64),
                               np.full((1, 2), -1, np.int64), np.zeros(1), np.zeros(1))
    keys = np.array([1, 1, 2, 7], dtype=np.int64)
    expected = kernels.sorted_runs(keys)
    # an input of a dtype that casts safely, or not contiguous: converted, same result
    assert _same(kernels.sorted_runs(keys.astype(np.int32)), expected)
    assert _same(kernels.sorted_runs(np.repeat(keys, 2)[::2]), expected)
    assert _same(kernels.sorted_runs([1, 1, 2, 7]), expected)
    with pytest.raises(TypeError, match=r"sorted_runs: argument 0 must be an array of int64 .* got float64"):
        kernels.sorted_runs(keys.astype(np.float64))
    with pytest.raises(TypeError, match=r"sorted_runs: argument 0 must be a 1-d array of int64, got 2-d"):
        kernels.sorted_runs(keys.reshape(2, 2))
    with pytest.raises(TypeError, match=r"kgram_keys: argument 1 must be an integer, got float"):
        kernels.kgram_keys(np.array([3, 4, 5], dtype=np.int32), 2.0, 10)
    # an array written in place must be the caller's own: no silent copy
    buf = np.frombuffer(b"a b\n", dtype=np.uint8)
    table = np.full(16, -1, dtype=np.int32)
    with pytest.raises(TypeError, match=r"encode_text: argument 2 is written in place: it must be a writable "
                                        r"C-contiguous int64 array, got int32"):
        kernels.encode_text(buf, 1, table, np.zeros(4, np.int64), np.zeros(4, np.int64), np.zeros(8, np.uint8), 0, 0)
