"""``lmverify ngram estimate|score`` (lmverify/ngram_cmd.py), in process, on the shipped KenLM corpora.

Oracles: the ARPA files lmplz wrote (tests/data/kenlm, commands.txt gives each command line) and two
transcripts of KenLM's ``query`` (commit 4cb443e6, the binary built from kpu/kenlm) on the text
QUERY_TEXT; where the ``kenlm`` package is installed, ``kenlm.Model.score`` as well.
Each test calls ``main([...])`` in this process (no subprocess): about 1 s for the file.
"""

from __future__ import annotations

import io
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from lmverify.compare import assert_close
from lmverify.ngram_cmd import EXIT_INPUT, EXIT_OK, EXIT_USAGE, main
from lmverify.tolerance import KENLM_LOG10
from reference.arpa import read_arpa

DATA = Path(__file__).parent / "data" / "kenlm"

#: the text both transcripts score: three training sentences, an unknown word, an empty line
QUERY_TEXT = (DATA / "corpus.txt").read_text().split("\n")[:3] + ["the unknownword house", "", "house house house the"]

#: ``query corpus.o3.arpa < QUERY_TEXT`` (KenLM 4cb443e6), standard output
QUERY_CORPUS_O3 = (
    'did=3 2 -1.2690202\tthe=4 3 -0.5744331\thouse=5 3 -1.8676795\ttook=6 3 -1.4277487\ta=7 3 -0.78672093\tnoun0=8 3 -1.7278805\t</s>=2 3 -0.3901167\tTotal: -8.0436 OOV: 0\n'
    'we=9 2 -1.2690202\twent=10 3 -0.0028290567\tto=11 3 -0.0028290567\tthe=4 3 -0.0027599898\tschool=12 3 -1.1903317\tand=13 3 -0.71395123\tliked=14 3 -1.3438562\tthe=4 3 -0.36741605\tnoun89=15 3 -2.5343423\t</s>=2 3 -0.47094303\tTotal: -7.8982787 OOV: 0\n'
    'the=4 2 -0.70697767\tnoun17=16 3 -2.221671\tverb51=17 3 -1.5409244\tthe=4 3 -0.53900045\tchild=18 3 -1.0838017\tbecause=19 3 -1.9317924\tsome=20 3 -1.1021343\tbird=21 3 -1.3628691\tverb39=22 3 -1.3705804\tthat=23 3 -0.7786408\tadj0=24 3 -0.9574888\tcat=25 3 -0.7120815\t</s>=2 3 -0.36845714\tTotal: -14.676421 OOV: 0\n'
    'the=4 2 -0.70697767\tunknownword=0 1 -4.9082637\thouse=5 1 -2.204721\t</s>=2 2 -0.52562946\tTotal: -8.345592 OOV: 1\n'
    '</s>=2 1 -3.0129662\tTotal: -3.0129662 OOV: 0\n'
    'house=5 1 -3.9501157\thouse=5 1 -2.634582\thouse=5 1 -2.634582\tthe=4 1 -2.039266\t</s>=2 1 -1.7565889\tTotal: -13.015136 OOV: 0\n'
    'Perplexity including OOVs:\t23.702810023186892\n'
    'Perplexity excluding OOVs:\t19.23969568762564\n'
    'OOVs:\t1\n'
    'Tokens:\t40\n'
)

#: ``query -n tiny.o2.arpa < QUERY_TEXT`` (no <s> ... </s>), standard output
QUERY_TINY_O2_NO_CONTEXT = (
    'did=0 1 -1.4620326\tthe=3 1 -0.75467014\thouse=0 1 -1.7630626\ttook=0 1 -1.4620326\ta=0 1 -1.4620326\tnoun0=0 1 -1.4620326\tTotal: -8.365863 OOV: 5\n'
    'we=0 1 -1.4620326\twent=0 1 -1.4620326\tto=0 1 -1.4620326\tthe=3 1 -0.75467014\tschool=0 1 -1.7630626\tand=0 1 -1.4620326\tliked=0 1 -1.4620326\tthe=3 1 -0.75467014\tnoun89=0 1 -1.7630626\tTotal: -12.345628 OOV: 7\n'
    'the=3 1 -0.75467014\tnoun17=0 1 -1.7630626\tverb51=0 1 -1.4620326\tthe=3 1 -0.75467014\tchild=0 1 -1.7630626\tbecause=0 1 -1.4620326\tsome=0 1 -1.4620326\tbird=0 1 -1.4620326\tverb39=0 1 -1.4620326\tthat=0 1 -1.4620326\tadj0=0 1 -1.4620326\tcat=4 1 -1.261903\tTotal: -16.531595 OOV: 9\n'
    'the=3 1 -0.75467014\tunknownword=0 1 -1.7630626\thouse=0 1 -1.4620326\tTotal: -3.9797652 OOV: 2\n'
    'Total: 0 OOV: 0\n'
    'house=0 1 -1.4620326\thouse=0 1 -1.4620326\thouse=0 1 -1.4620326\tthe=3 1 -0.75467014\tTotal: -5.140768 OOV: 3\n'
    'Perplexity including OOVs:\t23.101269975028217\n'
    'Perplexity excluding OOVs:\t6.57769978116007\n'
    'OOVs:\t26\n'
    'Tokens:\t34\n'
)


def _runs() -> list[dict]:
    """The lmplz command lines of commands.txt as lmverify options."""
    runs = []
    for line in (DATA / "commands.txt").read_text().splitlines():
        if not line.startswith("lmplz"):
            continue
        opts = ["-o", re.search(r"-o (\d+)", line).group(1)]
        if "--discount_fallback" in line:
            opts.append("--discount_fallback")
        if "--interpolate_unigrams 0" in line:
            opts += ["--interpolate_unigrams", "0"]
        runs.append({"corpus": re.search(r"<\s*(\S+)", line).group(1),
                     "arpa": Path(re.search(r">\s*(\S+)", line).group(1)).name, "opts": opts})
    return runs


RUNS = _runs()


def _stdin(monkeypatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8"))


def _assert_same_model(path: Path, kenlm_arpa: str) -> None:
    ours, theirs = read_arpa(path), read_arpa(DATA / kenlm_arpa)
    assert ours.words == theirs.words, "the vocabulary (in KenLM's order of first appearance) differs"
    assert ours.counts() == theirs.counts()
    for k in range(ours.order):
        np.testing.assert_array_equal(ours.keys[k], theirs.keys[k])
        for what, got, want in (("log10 p", ours.logprob[k], theirs.logprob[k]),
                                ("log10 back-off", ours.backoff[k], theirs.backoff[k])):
            assert_close(got, want, KENLM_LOG10, equation="ngram.kneser_ney_interpolated",
                         backend="lmverify ngram estimate", what=f"{kenlm_arpa}: {what} of the {k + 1}-grams",
                         expected_from="KenLM lmplz")


@pytest.mark.oracle
@pytest.mark.parametrize("run", RUNS, ids=[r["arpa"] for r in RUNS])
def test_ngram_estimate_writes_lmplz_model_for_every_shipped_command(run, tmp_path, capsys):
    out = tmp_path / "model.arpa"
    assert main(["estimate", str(DATA / run["corpus"]), *run["opts"], "--arpa", str(out)]) == EXIT_OK
    _assert_same_model(out, run["arpa"])
    # lmplz's statistics block on standard error: n-grams and discounts per order
    err = capsys.readouterr().err
    log = (DATA / run["arpa"].replace(".arpa", ".lmplz.log")).read_text()
    printed = re.findall(r"^(\d+ \d+) D1=(\S+) D2=(\S+) D3\+=(\S+)$", log, flags=re.M)
    ours = re.findall(r"^(\d+ \d+) D1=(\S+) D2=(\S+) D3\+=(\S+)", err, flags=re.M)
    assert [r[0] for r in ours] == [r[0] for r in printed]
    np.testing.assert_allclose(np.array([r[1:] for r in ours], dtype=float),
                               np.array([r[1:] for r in printed], dtype=float), rtol=1e-5)


@pytest.mark.oracle
def test_ngram_estimate_reads_stdin_and_writes_stdout(monkeypatch, capsysbinary, tmp_path):
    """lmplz's convention: ``-`` (or no CORPUS) is standard input; the ARPA file goes to standard output."""
    _stdin(monkeypatch, (DATA / "tiny.txt").read_text())
    assert main(["estimate", "-", "-o", "3", "--discount_fallback", "-S", "1G", "-T", str(tmp_path)]) == EXIT_OK
    out = tmp_path / "stdout.arpa"
    out.write_bytes(capsysbinary.readouterr().out)
    _assert_same_model(out, "tiny.o3.arpa")


@pytest.mark.parametrize("argv,stdin,message", [
    (["estimate", "-", "-o", "2"], "\n  \n\n", r"no non-empty sentence"),
    (["estimate", str(DATA / "tiny.txt"), "-o", "2"], None,
     r"order 2: cannot estimate discounts.*rerun with --discount_fallback"),
    (["estimate", "no-such-corpus.txt", "-o", "2"], None, r"no-such-corpus.txt: no such corpus file"),
    (["estimate", "-", "-o", "2"], "a <s> b\n", r"must not appear inside a sentence"),
    (["estimate", "-", "-o", "2"], "caf\udce9\n", r"not UTF-8"),
    (["score", "no-such-model.arpa"], "", r"no-such-model.arpa: no such ARPA file"),
    (["build", "no-such-model.arpa", "out.bin"], "", r"no-such-model.arpa: no such ARPA file"),
])
def test_ngram_commands_refuse_bad_input_with_a_message_and_exit_1(argv, stdin, message, monkeypatch, capsys):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8", "surrogateescape"))))
    assert main(argv) == EXIT_INPUT
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert "Traceback" not in err


def test_ngram_score_names_file_and_line_of_a_malformed_arpa(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.arpa"
    text = (DATA / "tiny.o2.arpa").read_text().replace("\t<s>\t", "\t<s>\tnot-a-number\t", 1)
    bad.write_text(text)
    lineno = next(i for i, line in enumerate(text.split("\n"), start=1) if "not-a-number" in line)
    _stdin(monkeypatch, "the cat\n")
    assert main(["score", str(bad)]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert f"{bad}:{lineno}:" in err and "Traceback" not in err, err


@pytest.mark.parametrize("argv", [["estimate", "-o", "0"], ["estimate", "-o", "x"], ["frobnicate"],
                                  ["estimate", "c.txt", "-o", "2", "--interpolate_unigrams", "maybe"]])
def test_ngram_commands_usage_errors_exit_2(argv, capsys):
    assert main(argv) == EXIT_USAGE
    assert "usage:" in capsys.readouterr().err


@pytest.mark.oracle
@pytest.mark.parametrize("arpa,options,expected", [
    ("corpus.o3.arpa", [], QUERY_CORPUS_O3),
    ("tiny.o2.arpa", ["-n"], QUERY_TINY_O2_NO_CONTEXT),
], ids=["corpus.o3", "tiny.o2-no-context"])
def test_ngram_score_prints_what_kenlm_query_prints(arpa, options, expected, monkeypatch, capsys):
    """Byte for byte: word=vocab_id ngram_length log10p per word, Total and OOV per line, then the summary."""
    _stdin(monkeypatch, "\n".join(QUERY_TEXT) + "\n")
    assert main(["score", str(DATA / arpa), *options]) == EXIT_OK
    assert capsys.readouterr().out == expected


@pytest.mark.oracle
def test_ngram_score_of_a_built_binary_prints_what_kenlm_query_prints(tmp_path, monkeypatch, capsys):
    """`lmverify ngram build` then `score` on the binary file: query's output byte for byte, as from the ARPA."""
    assert main(["build", str(DATA / "corpus.o3.arpa"), str(tmp_path / "m.bin")]) == EXIT_OK
    assert "binary model of order 3" in capsys.readouterr().err
    _stdin(monkeypatch, "\n".join(QUERY_TEXT) + "\n")
    assert main(["score", str(tmp_path / "m.bin")]) == EXIT_OK
    assert capsys.readouterr().out == QUERY_CORPUS_O3


@pytest.mark.bad_input
def test_ngram_estimate_names_a_damaged_gzip_corpus(tmp_path, capsys):
    import gzip

    gz = tmp_path / "c.txt.gz"
    data = gzip.compress((DATA / "corpus.txt").read_bytes())
    gz.write_bytes(data[: len(data) // 2])
    assert main(["estimate", str(gz), "-o", "2"]) == EXIT_INPUT
    err = capsys.readouterr().err
    assert f"{gz}: a gzip file that does not decompress" in err and "Traceback" not in err, err


def test_ngram_score_verbosity_levels_select_query_lines(monkeypatch, capsys):
    text = "\n".join(QUERY_TEXT) + "\n"
    lines = QUERY_CORPUS_O3.split("\n")
    for level, want in (("sentence", [re.search(r"Total: .*", line).group(0) for line in lines if "Total:" in line]),
                        ("summary", [line for line in lines if line and "Total:" not in line])):
        _stdin(monkeypatch, text)
        assert main(["score", str(DATA / "corpus.o3.arpa"), "-v", level]) == EXIT_OK
        assert capsys.readouterr().out.splitlines() == want


@pytest.mark.oracle
def test_ngram_score_totals_equal_kenlm_package(monkeypatch, capsys):
    """A model estimated by ``lmverify ngram estimate``, scored by ``lmverify ngram score`` and by
    ``kenlm.Model.score`` (both add float32 values): sentence totals within 1e-5 log10."""
    kenlm = pytest.importorskip("kenlm")
    lines = (DATA / "corpus.txt").read_text().split("\n")[:200] + ["zzz the qqq", "house house"]
    _stdin(monkeypatch, "\n".join(lines) + "\n")
    assert main(["score", str(DATA / "corpus.o3.arpa"), "-v", "sentence"]) == EXIT_OK
    ours = np.array([float(m) for m in re.findall(r"Total: (\S+)", capsys.readouterr().out)])
    km = kenlm.Model(str(DATA / "corpus.o3.arpa"))
    theirs = np.array([km.score(s) for s in lines])
    assert len(ours) == len(theirs)
    assert np.abs(ours - theirs).max() <= 1e-5, np.abs(ours - theirs).max()


def test_commands_start_numpy_with_one_blas_thread_unless_the_caller_chose():
    """`lmverify ngram` multiplies no matrices: OpenBLAS's spinning threads only cost CPU, so its commands ask
    for one, before NumPy is imported; a caller's own OPENBLAS_NUM_THREADS is kept, and a process that
    imported NumPy already is left as it is (the variable would no longer be read)."""
    import subprocess

    code = ("import os, sys\n{pre}from lmverify import ngram_cmd\nngram_cmd._one_blas_thread()\n"
            "print(os.environ.get('OPENBLAS_NUM_THREADS'))\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}

    def run(pre="", **extra):
        out = subprocess.run([sys.executable, "-c", code.format(pre=pre)], env={**env, **extra},
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()

    assert run() == "1"
    assert run(OPENBLAS_NUM_THREADS="3") == "3"
    assert run(pre="import numpy\n") == "None"
