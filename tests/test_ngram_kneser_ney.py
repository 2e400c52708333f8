"""Kneser-Ney (interpolated, one discount; modified, D1/D2/D3+) and the ARPA format.

Layers:
  * oracle: KenLM's lmplz ARPA files (every n-gram's log10 p and back-off weight, and the
    discounts it printed), the ``kenlm`` package (scores a model this project wrote), NLTK's
    ``nltk.lm`` (agrees where the conventions agree; each difference pinned by a test);
  * laws (hypothesis): every context's distribution sums to one, on ordinary and degenerate
    corpora; the dense per-order equations in every backend rebuild the sparse estimator;
    lower orders use continuation counts;
  * symbolic: normalisation of one Kneser-Ney step for a symbolic count table;
  * the ARPA reader/writer: round trip, and malformed files named with file and line.

Agreement of each per-order equation (kneser_ney_interpolate, kneser_ney_discounts,
continuation_counts) with its oracle, pinned extremes, batching, gradients, refused inputs and
known mistakes are generated from lmverify/registry/ngram.py (tests/test_equations.py).
Only the NLTK tests need NLTK, and only the kenlm test needs kenlm: each skips on its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmverify import strategies as S
from lmverify.compare import assert_close, assert_true
from lmverify.tolerance import KENLM_LOG10
from reference.arpa import BOS, UNK, ArpaError, read_arpa, write_arpa
from reference.numpy.ngram import DiscountError, encode_corpus, estimate_kneser_ney

DATA = Path(__file__).parent / "data" / "kenlm"


# ---------------------------------------------------------------- KenLM's runs, read from commands.txt

def _kenlm_runs() -> list[dict]:
    """One entry per lmplz command in commands.txt: its ARPA file, corpus, order and options."""
    runs = []
    for line in (DATA / "commands.txt").read_text().splitlines():
        if not line.startswith("lmplz"):
            continue
        m = re.search(r"-o (\d+)", line)
        src = re.search(r"<\s*(\S+)", line).group(1)
        out = Path(re.search(r">\s*(\S+)", line).group(1)).name
        runs.append({
            "arpa": out,
            "corpus": src,
            "order": int(m.group(1)),
            "discount_fallback": "--discount_fallback" in line,
            "interpolate_unigrams": "--interpolate_unigrams 0" not in line,
        })
    return runs


RUNS = _kenlm_runs()


def _lines(name: str) -> list[str]:
    return (DATA / name).read_text(encoding="utf-8").split("\n")


def _estimate(run: dict, **kw):
    return estimate_kneser_ney(_lines(run["corpus"]), run["order"], discount_fallback=run["discount_fallback"],
                               interpolate_unigrams=run["interpolate_unigrams"], **kw)


def test_kneser_ney_kenlm_runs_are_all_found():
    assert sorted(r["arpa"] for r in RUNS) == sorted(p.name for p in DATA.glob("*.arpa")), \
        "every shipped ARPA file must have its lmplz command in commands.txt"


@pytest.mark.oracle
@pytest.mark.equation("ngram.kneser_ney_interpolated", "ngram.kneser_ney_discounts", "ngram.continuation_counts")
@pytest.mark.parametrize("run", RUNS, ids=[r["arpa"] for r in RUNS])
def test_kneser_ney_reproduces_every_kenlm_ngram(run):
    """Modified Kneser-Ney as lmplz computes it: the same n-grams, and every log10 p and back-off
    weight within 1e-6 (KenLM computes in float32)."""
    ours = _estimate(run)
    kenlm = read_arpa(DATA / run["arpa"])
    assert ours.counts() == kenlm.counts(), f"{run['arpa']}: n-gram counts per order differ"
    assert sorted(ours.words) == sorted(kenlm.words), f"{run['arpa']}: vocabularies differ"
    to_ours = np.array([ours.index[w] for w in kenlm.words])
    for k in range(1, run["order"] + 1):
        grams = kenlm.entries(k)
        idx = ours.lookup(to_ours[grams])
        missing = np.nonzero(idx < 0)[0]
        assert not len(missing), (f"{run['arpa']}: {len(missing)} {k}-grams of KenLM are not in our model, "
                                  f"e.g. {[kenlm.words[i] for i in grams[missing[0]]]}")
        for what, got, want in (("log10 p", ours.logprob[k - 1][idx], kenlm.logprob[k - 1]),
                                ("log10 back-off", ours.backoff[k - 1][idx], kenlm.backoff[k - 1])):
            assert_close(got, want, KENLM_LOG10, equation="ngram.kneser_ney_interpolated",
                         backend="numpy (sparse estimator)",
                         what=f"{run['arpa']}: {what} of the {k}-grams", expected_from="KenLM lmplz",
                         inputs={"first differing n-gram?": "see index; rows are KenLM's file order"})


def _printed_statistics(log: Path) -> list[tuple[float, float, float]]:
    text = log.read_text()
    block = text.split("Statistics:")[1].split("Memory estimate")[0]
    rows = re.findall(r"^(\d+) \d+ D1=(\S+) D2=(\S+) D3\+=(\S+)$", block, flags=re.M)
    return [tuple(float(x) for x in r[1:]) for r in rows]


def _printed_precision(s: float) -> float:
    """Half a unit in the 6th significant digit (lmplz prints with C++'s default 6 digits)."""
    return 0.5 * 10.0 ** (np.floor(np.log10(abs(s))) - 5) if s else 5e-7


@pytest.mark.oracle
@pytest.mark.equation("ngram.kneser_ney_discounts")
@pytest.mark.parametrize("run", RUNS, ids=[r["arpa"] for r in RUNS])
def test_kneser_ney_discounts_match_lmplz_log(run):
    """D1, D2, D3+ per order as lmplz printed them (6 significant digits), fallback included."""
    _, stats = _estimate(run, return_statistics=True)
    printed = _printed_statistics(DATA / run["arpa"].replace(".arpa", ".lmplz.log"))
    assert len(printed) == run["order"]
    for k, (ours, theirs) in enumerate(zip(stats.discounts, printed), start=1):
        for j in range(3):
            assert abs(ours[j] - theirs[j]) <= _printed_precision(theirs[j]), \
                f"{run['arpa']}: order {k} D{j + 1}: ours {ours[j]!r}, lmplz printed {theirs[j]!r}"


def test_kneser_ney_discounts_without_fallback_raise_a_clear_error():
    with pytest.raises(DiscountError, match=r"order 2: cannot estimate discounts.*discount_fallback"):
        estimate_kneser_ney(_lines("tiny.txt"), 2)


def test_kneser_ney_bad_arguments_are_named():
    with pytest.raises(ValueError, match="order must be an integer >= 1"):
        estimate_kneser_ney(["a b"], 0)
    with pytest.raises(ValueError, match="sentences: the corpus has no non-empty sentence"):
        estimate_kneser_ney(["", "  "], 2)
    with pytest.raises(ValueError, match="must not appear inside a sentence"):
        estimate_kneser_ney(["a </s> b"], 2)
    with pytest.raises(ValueError, match=r"discounts: expected 2 per-order triples"):
        estimate_kneser_ney(["a b"], 2, discounts=[(0.5, 1, 1.5)])


# ---------------------------------------------------------------- normalisation (hypothesis)

FIXED = [(0.5, 1.0, 1.5)] * 4  # explicit discounts: tiny corpora cannot estimate them


def _assert_every_context_sums_to_one(model, equation: str, corpus) -> None:
    """Sum over the vocabulary (without <s>, which is never predicted) for every context the model
    stores, for the empty context, and for a context never seen."""
    V = model.vocab_size
    bos = model.index[BOS]
    histories = [[], ["never-seen-word"], ["never-seen-word"] * max(model.order - 1, 1)]
    for k in range(1, model.order):
        for g in model.entries(k):
            histories.append([model.words[i] for i in g])
    words = np.arange(V)
    keep = words != bos
    for h in histories:
        p = model.probabilities(h)
        assert_true(bool(abs(p[keep].sum() - 1.0) <= 1e-12 * V + 1e-13), equation=equation, backend="numpy",
                    law=f"sum_w p(w | {' '.join(h) or '(empty)'}) = 1", inputs={"corpus": corpus},
                    got=p[keep].sum(), expected=1.0)


@pytest.mark.equation("ngram.kneser_ney_interpolated")
@given(corpus=S.corpora(), order=st.integers(1, 4), modified=st.booleans(), interp=st.booleans())
def test_kneser_ney_every_context_sums_to_one(corpus, order, modified, interp):
    model = estimate_kneser_ney(corpus, order, discounts="modified" if modified else "single",
                                discount_fallback=True, interpolate_unigrams=interp)
    _assert_every_context_sums_to_one(model, "ngram.kneser_ney_interpolated", corpus)


@pytest.mark.equation("ngram.kneser_ney_interpolated")
@given(corpus=S.degenerate_corpora, order=st.integers(1, 4))
def test_kneser_ney_every_context_sums_to_one_on_degenerate_corpora(corpus, order):
    model = estimate_kneser_ney(corpus, order, discount_fallback=True)
    _assert_every_context_sums_to_one(model, "ngram.kneser_ney_interpolated", corpus)
    fixed = estimate_kneser_ney(corpus, order, discounts=FIXED[:order])
    _assert_every_context_sums_to_one(fixed, "ngram.kneser_ney_interpolated", corpus)


@pytest.mark.oracle
@pytest.mark.parametrize("run", [r for r in RUNS if r["corpus"] == "corpus.txt"], ids=lambda r: r["arpa"])
def test_kneser_ney_kenlm_files_sum_to_one_for_sampled_contexts(run):
    """KenLM's own files, read back and scored by our back-off scorer, normalise too (a check of the
    reader and scorer against a third party's model)."""
    model = read_arpa(DATA / run["arpa"])
    rng = np.random.default_rng(0)
    top = model.entries(run["order"] - 1)
    for g in top[rng.choice(len(top), size=20, replace=False)]:
        h = [model.words[i] for i in g]
        p = model.probabilities(h)
        assert abs(p.sum() - 1.0) < 1e-5, f"{run['arpa']}: sum over the vocabulary after {h} is {p.sum()}"


# ---------------------------------------------------------------- the dense equations rebuild the estimator


def _dense_kneser_ney(check, corpus: list[str], order: int, discounts, *, raw_lower: bool = False) -> np.ndarray:
    """p(w | h) for every history of length order-1 (a (V,)*order table), built only from the
    per-order equations on the check's backend: continuation_counts and kneser_ney_interpolate."""
    enc = encode_corpus(corpus)
    V = len(enc.words)
    raw = []
    for k in range(1, order + 1):
        c = np.zeros((V,) * k)
        pos = np.nonzero(enc.offset[: len(enc.stream) - k + 1] <= enc.length[: len(enc.stream) - k + 1] - k)[0]
        win = np.stack([enc.stream[pos + j] for j in range(k)], axis=1)
        np.add.at(c, tuple(win.T), 1.0)
        raw.append(c)
    adjusted = []
    for k in range(1, order + 1):
        if k == order or raw_lower:
            a = raw[k - 1].copy()
        else:
            a = check.call("continuation_counts", counts=raw[k])
            bos_first = np.zeros((V,) * k, dtype=bool)
            bos_first[1] = True
            a = np.where(bos_first, raw[k - 1], a)
        adjusted.append(a)
    adjusted[0][[0, 1]] = 0.0  # <unk> is unseen; <s> is never predicted
    uniform = np.full((1, V), 1.0 / (V - 1))
    uniform[0, 1] = 0.0
    p = check.call("kneser_ney_interpolate", counts=adjusted[0][None, :], lower=uniform,
                   discounts=np.asarray(discounts[0]))  # (1, V)
    for k in range(2, order + 1):
        lower = np.broadcast_to(p.reshape((1,) + (V,) * (k - 1)), (V,) * k).reshape(-1, V)
        p = check.call("kneser_ney_interpolate", counts=adjusted[k - 1].reshape(-1, V), lower=lower,
                       discounts=np.asarray(discounts[k - 1]))
    return p.reshape((V,) * order)


def _sparse_table(model, order: int) -> np.ndarray:
    V = model.vocab_size
    grid = np.stack(np.meshgrid(*[np.arange(V)] * order, indexing="ij"), axis=-1).reshape(-1, order)
    return (10.0 ** model.score_ngrams(grid[:, :-1], grid[:, -1])).reshape((V,) * order)


@pytest.mark.numeric
@pytest.mark.equation("ngram.kneser_ney_interpolated", "ngram.continuation_counts")
@S.budget(1 / 3)
@given(corpus=S.corpora(max_sentences=4, max_len=4, max_vocab=3), order=st.integers(1, 3))
def test_kneser_ney_dense_equations_rebuild_the_sparse_estimator(check, corpus, order):
    """continuation_counts + kneser_ney_interpolate, order by order, in each backend, give the
    sparse estimator's p(w | h) for every history (seen or not) and every word."""
    model = estimate_kneser_ney(corpus, order, discounts=FIXED[:order])
    dense = _dense_kneser_ney(check, corpus, order, FIXED)
    sparse = _sparse_table(model, order)
    sparse[..., 1] = 0.0  # <s> is never predicted (the dense form gives it 0)
    check.inputs = {"corpus": corpus, "order": order}
    check.close(dense, sparse, expected_from="sparse estimator (numpy)")


@pytest.mark.equation("ngram.kneser_ney_interpolated", "ngram.continuation_counts")
def test_kneser_ney_dense_equations_rebuild_the_page_corpus_model(check):
    """The same rebuild on the page's four sentences, bigram order, in every backend (SymPy exactly)."""
    corpus = _lines("tiny.txt")
    model, stats = estimate_kneser_ney(corpus, 2, discount_fallback=True, return_statistics=True)
    dense = _dense_kneser_ney(check, corpus, 2, stats.discounts)
    sparse = _sparse_table(model, 2)
    sparse[..., 1] = 0.0
    check.inputs = {"corpus": "tests/data/kenlm/tiny.txt", "order": 2}
    check.close(dense, sparse, expected_from="sparse estimator (numpy)")


@pytest.mark.numeric
@pytest.mark.equation("ngram.kneser_ney_interpolated")
@given(data=st.data())
def test_kneser_ney_interpolate_rows_sum_to_one(check, data):
    counts = data.draw(S.count_tables(max_contexts=4, max_vocab=6, max_count=9), label="counts")
    lower = np.stack([data.draw(S.probability_vectors(min_len=counts.shape[1], max_len=counts.shape[1]))
                      for _ in range(counts.shape[0])])
    p = check.call(counts=counts, lower=lower, discounts=np.array([0.6, 1.1, 1.4]))
    check.close(p.sum(axis=1), np.ones(counts.shape[0]), what="row sums", expected_from="1")


@pytest.mark.symbolic
@pytest.mark.equation("ngram.kneser_ney_interpolated")
@pytest.mark.parametrize("V", [1, 2, 3, 5])
def test_kneser_ney_normalisation_proved_for_a_symbolic_count_table(V):
    import specs.ngram as spec
    assert spec.prove_kneser_ney_normalisation(V) == 1


@pytest.mark.numeric
@pytest.mark.equation("ngram.continuation_counts", "ngram.kneser_ney_interpolated")
def test_kneser_ney_lower_orders_use_continuation_counts_not_raw_counts(check):
    """'francisco' is frequent but follows only 'san': its unigram probability comes from one
    left context, not from its five occurrences; a model built on raw lower-order counts differs."""
    corpus = ["san francisco"] * 5 + ["a b", "b a", "a c", "c b", "b c a"]
    model = estimate_kneser_ney(corpus, 2, discounts=FIXED[:2])
    enc = encode_corpus(corpus)
    dense_cont = _dense_kneser_ney(check, corpus, 2, FIXED)
    dense_raw = _dense_kneser_ney(check, corpus, 2, FIXED, raw_lower=True)
    sparse = _sparse_table(model, 2)
    sparse[..., 1] = 0.0
    check.inputs = {"corpus": corpus}
    check.close(dense_cont, sparse, expected_from="sparse estimator (numpy), continuation counts")
    f, a = enc.index["francisco"], enc.index["a"]
    p_uni = 10 ** model.logprob[0]
    assert p_uni[f] < p_uni[a], "a word seen after one context only must get less unigram mass than one seen after many"
    assert np.abs(dense_raw - dense_cont).max() > 1e-3, "raw lower-order counts must give a different model"


# ---------------------------------------------------------------- ARPA writer and reader


@pytest.mark.parametrize("run", RUNS, ids=[r["arpa"] for r in RUNS])
def test_arpa_round_trip_of_kenlm_files(run, tmp_path):
    model = read_arpa(DATA / run["arpa"])
    write_arpa(model, tmp_path / "m.arpa")
    again = read_arpa(tmp_path / "m.arpa")
    assert again.words == model.words and again.counts() == model.counts()
    for k in range(model.order):
        np.testing.assert_array_equal(again.keys[k], model.keys[k])
        # written with 9 significant digits: float32 values survive exactly
        np.testing.assert_array_equal(np.float32(again.logprob[k]), np.float32(model.logprob[k]))
        np.testing.assert_array_equal(np.float32(again.backoff[k]), np.float32(model.backoff[k]))


@pytest.mark.equation("ngram.kneser_ney_interpolated")
@given(corpus=S.corpora(), order=st.integers(1, 3))
def test_arpa_round_trip_of_estimated_models_scores_alike(corpus, order, tmp_path_factory):
    model = estimate_kneser_ney(corpus, order, discount_fallback=True)
    path = tmp_path_factory.mktemp("arpa") / "m.arpa"
    write_arpa(model, path)
    again = read_arpa(path)
    held_out = corpus + ["a z b", "z"]
    for s in held_out:
        ours, read = model.score_sentence(s), again.score_sentence(s)
        if np.isfinite(ours):
            assert abs(read - ours) < 1e-7 * (len(s.split()) + 1), (s, ours, read)
        else:
            # an estimated discount of exactly 0 leaves gamma(h) = 0: probability 0 (log10 p written as -inf, a
            # back-off weight of log10 0 as -99, which KenLM accepts where it refuses -inf)
            assert read <= -99.0, (s, ours, read)


BAD_ARPA = [
    ("", "expected the header line"),
    ("\\data\\\nngram 1=x\n", "expected 'ngram K=COUNT'"),
    ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<unk>\n\\end\\\n", "declares ngram 1=2 but the file has 1"),
    ("\\data\\\nngram 1=1\n\n\\1-grams:\n-1\t<unk>\n", "missing the closing"),
    ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<unk>\nabc\tx\n\\end\\\n", r":6: not a number in 'abc x'"),
    ("\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<unk>\n-1\ta\tb\tc\n\\end\\\n", r":6: a 1-gram line needs"),
    ("\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1\t<unk>\n-1\ta\t0\n\n\\2-grams:\n-1\ta b\n\\end\\\n",
     r":10: word 'b' of this 2-gram is not among the unigrams"),
    ("\\data\\\nngram 1=2\nngram 2=1\nngram 3=1\n\n\\1-grams:\n-1\t<unk>\n-1\ta\t0\n\n\\2-grams:\n-1\ta a\t0\n\n"
     "\\3-grams:\n-1\t<unk> a a\n\\end\\\n", r":14: the context '<unk> a' of this 3-gram is not a 2-gram"),
    ("\\data\\\nngram 1=1\n\n\\1-grams:\n0.5\t<unk>\n\\end\\\n", "expected log10 p <= 0"),
    ("\\data\\\nngram 1=3\n\n\\1-grams:\n-1\t<unk>\n-1\ta\n-1\ta\n\\end\\\n", r":7: unigram 'a' appears twice"),
    ("\\data\\\nngram 1=2\nngram 2=2\n\n\\1-grams:\n-1\t<unk>\n-1\ta\t0\n\n\\2-grams:\n-1\ta a\n-2\ta a\n\\end\\\n",
     r":11: 2-gram 'a a' appears twice"),
]


@pytest.mark.parametrize("compiled", [False, True], ids=["python", "compiled"])
@pytest.mark.parametrize("text,message", BAD_ARPA, ids=[m for _, m in BAD_ARPA])
def test_arpa_reader_names_file_line_and_problem(tmp_path, text, message, compiled, monkeypatch):
    """Also with the compiled reader on (its size threshold set to 0): it leaves every such file to the Python
    reader, which names the problem."""
    if compiled:
        import reference.arpa as arpa

        _numba_or_skip(True, monkeypatch)
        monkeypatch.setattr(arpa, "_COMPILED_READ_AT", 0)
    path = tmp_path / "bad.arpa"
    path.write_text(text)
    with pytest.raises(ArpaError, match=re.escape(str(path)) + ".*" + message if ":" not in message[:2]
                       else re.escape(str(path)) + message):
        read_arpa(path)


def test_arpa_reader_missing_file_is_named(tmp_path):
    with pytest.raises(ArpaError, match="no such ARPA file"):
        read_arpa(tmp_path / "nope.arpa")


def test_arpa_scorer_backs_off_like_the_format_says():
    """log10 p(w | h) = stored value of the longest match + back-off weights of the longer contexts."""
    m = read_arpa(DATA / "tiny.o3.arpa")
    lp = {tuple(m.words[i] for i in g): v for k in range(1, 4) for g, v in zip(m.entries(k), m.logprob[k - 1])}
    bo = {tuple(m.words[i] for i in g): v for k in range(1, 3) for g, v in zip(m.entries(k), m.backoff[k - 1])}
    # seen trigram; bigram seen but trigram not; nothing seen but the unigram; an unknown word
    cases = {("the", "cat", "sat"): lp[("the", "cat", "sat")],
             ("on", "the", "dog"): bo[("on", "the")] + lp[("the", "dog")],
             ("cat", "sat", "fish"): bo[("cat", "sat")] + bo[("sat",)] + lp[("fish",)],
             ("the", "cat", "zzz"): bo[("the", "cat")] + bo[("cat",)] + lp[(UNK,)]}
    for (h1, h2, w), want in cases.items():
        got = m.score_ngrams(m.ids([h1, h2])[None, :], m.ids([w]))[0]
        assert abs(got - want) < 1e-12, f"log10 p({w} | {h1} {h2}): got {got}, expected {want}"


# ---------------------------------------------------------------- the kenlm package


@pytest.mark.oracle
@pytest.mark.parametrize("run", [r for r in RUNS if r["corpus"] == "corpus.txt"], ids=lambda r: r["arpa"])
def test_kneser_ney_kenlm_package_scores_our_arpa_as_we_do(run, tmp_path):
    kenlm = pytest.importorskip("kenlm")
    ours = _estimate(run)
    path = tmp_path / "ours.arpa"
    write_arpa(ours, path)
    km = kenlm.Model(str(path))
    sentences = _lines("corpus.txt")[:300] + ["the unknownword house", "zzz", "house house house the"]
    for s in sentences:
        if not s.strip():
            continue
        theirs = np.array([lp for lp, _, _ in km.full_scores(s)])
        assert_close(ours.full_scores(s), theirs, KENLM_LOG10, equation="ngram.kneser_ney_interpolated",
                     backend="numpy (our scorer)",
                     what=f"per-token log10 p of {s!r}", expected_from="kenlm.Model.full_scores")


# ---------------------------------------------------------------- NLTK: agree where conventions agree

def _nltk(model_name: str, order: int, sentences: list[str], **kw):
    """An nltk.lm model fitted on the sentences; skips the calling test (only it) without NLTK."""
    nltk_lm = pytest.importorskip("nltk.lm")
    from nltk.lm.preprocessing import padded_everygram_pipeline
    train, vocab = padded_everygram_pipeline(order, [s.split() for s in sentences])
    lm = getattr(nltk_lm, model_name)(order, **kw)
    lm.fit(train, vocab)
    return lm


@pytest.mark.oracle
@pytest.mark.numeric
@pytest.mark.equation("ngram.kneser_ney_interpolated", "ngram.continuation_counts")
def test_kneser_ney_nltk_bigram_equals_our_equation_with_nltk_conventions(check):
    """Order 2, one discount d: NLTK's KneserNeyInterpolated equals kneser_ney_interpolate applied to
    raw bigram counts with D1 = D2 = D3+ = d, over NLTK's lowest order: continuation counts
    N1+(. w) / N1+(. .) with no discount and no uniform term."""
    sentences = [s for s in _lines("tiny.txt") if s]
    d = 0.1
    lm = _nltk("KneserNeyInterpolated", 2, sentences, discount=d)
    words = sorted(lm.vocab)  # includes <s>, </s>, <UNK>
    ix = {w: i for i, w in enumerate(words)}
    V = len(words)
    counts = np.zeros((V, V))
    for s in sentences:
        toks = ["<s>"] + s.split() + ["</s>"]
        for a, b in zip(toks, toks[1:]):
            counts[ix[a], ix[b]] += 1
    cont = check.call("continuation_counts", counts=counts)
    lower = np.broadcast_to(check.call("unigram_mle", counts=cont), (V, V))
    ours = check.call(counts=counts, lower=lower, discounts=np.array([d, d, d]))
    theirs = np.array([[lm.score(w, [h]) for w in words] for h in words])
    check.close(ours, theirs, what="kneser_ney_interpolate with NLTK's conventions",
                expected_from="nltk.lm.KneserNeyInterpolated")


@pytest.fixture(scope="module")
def nltk_tiny_trigram():
    sentences = [s for s in _lines("tiny.txt") if s]
    return _nltk("KneserNeyInterpolated", 3, sentences, discount=0.1), sentences


@pytest.mark.oracle
@pytest.mark.equation("ngram.kneser_ney_interpolated")
def test_kneser_ney_nltk_differs_contexts_after_bos_do_not_sum_to_one(nltk_tiny_trigram):
    """NLTK (order 3): the distributions after <s> sum to more than one; ours sum to one."""
    lm, sentences = nltk_tiny_trigram
    vocab = sorted(lm.vocab)
    for ctx in (["<s>"], ["<s>", "<s>"]):
        total = sum(lm.score(w, ctx) for w in vocab)
        assert total > 1 + 1e-3, f"NLTK's context {ctx} now sums to {total}: the pinned difference is gone"
    ours = estimate_kneser_ney(sentences, 3, discount_fallback=True)
    p = ours.probabilities(["<s>"])
    assert abs(p.sum() - 1) < 1e-12


@pytest.mark.oracle
@pytest.mark.equation("ngram.kneser_ney_interpolated")
def test_kneser_ney_nltk_differs_padding_symbols_get_mass(nltk_tiny_trigram):
    lm, sentences = nltk_tiny_trigram
    assert lm.score("<s>", ["on", "the"]) > 0, "NLTK no longer gives probability to the padding symbol <s>"
    ours = estimate_kneser_ney(sentences, 3, discount_fallback=True)
    assert ours.probabilities(["on", "the"])[ours.index[BOS]] == 0.0


@pytest.mark.oracle
@pytest.mark.equation("ngram.kneser_ney_interpolated")
def test_kneser_ney_nltk_differs_unknown_words_get_zero(nltk_tiny_trigram):
    lm, sentences = nltk_tiny_trigram
    assert lm.score("zebra", ["on", "the"]) == 0.0
    assert lm.perplexity([("on", "the", "zebra")]) == float("inf")
    ours = estimate_kneser_ney(sentences, 3, discount_fallback=True)
    assert 0 < 10 ** ours.score_ngrams(ours.ids(["on", "the"])[None], ours.ids(["zebra"]))[0] < 1
    assert np.isfinite(ours.perplexity(["the zebra sat"]))


@pytest.mark.oracle
@pytest.mark.equation("ngram.kneser_ney_interpolated")
def test_kneser_ney_nltk_differs_one_discount_and_undiscounted_unigrams(nltk_tiny_trigram):
    """NLTK's lowest order is the continuation distribution itself (no discount, no uniform term), and
    one discount is used for every count; so its probabilities differ from KenLM's everywhere."""
    lm, sentences = nltk_tiny_trigram
    kenlm = read_arpa(DATA / "tiny.o3.arpa")
    words = [w for w in kenlm.words if w not in (BOS, UNK)]
    # unigram level: NLTK = N1+(. w) / N1+(. .) exactly, which sums to one over words with a left context
    uni = np.array([lm.unmasked_score(w) for w in words])
    # NLTK pads order 3 with two <s> and two </s>; its bigram types include (<s>, <s>) and (</s>, </s>)
    padded = [["<s>", "<s>"] + s.split() + ["</s>", "</s>"] for s in sentences]
    bigram_types = {pair for toks in padded for pair in zip(toks, toks[1:])}
    expect = np.array([sum(1 for _, b in bigram_types if b == w) for w in words]) / len(bigram_types)
    np.testing.assert_allclose(uni, expect, rtol=1e-12)
    ours_uni = 10 ** np.array([kenlm.logprob[0][kenlm.index[w]] for w in words])
    assert np.abs(np.log10(uni) - np.log10(ours_uni)).max() > KENLM_LOG10.atol
    # trigram level: the median |delta log10 p| over KenLM's trigrams is far above the tolerance
    deltas = []
    for g, v in zip(kenlm.entries(3), kenlm.logprob[2]):
        h1, h2, w = (kenlm.words[i] for i in g)
        deltas.append(abs(np.log10(lm.score(w, [h1, h2])) - v))
    assert np.median(deltas) > 100 * KENLM_LOG10.atol


# ---------------------------------------------------------------- bad input gets a named answer


@pytest.mark.equation("ngram.kneser_ney_interpolated")
@pytest.mark.parametrize("kwargs,message", [
    (dict(sentences=["a b c"], order=True), r"order must be an integer >= 1, got True"),
    (dict(sentences="a b c\nd e", order=2), r"got one string, expected a collection of sentences"),
    (dict(sentences=[["new york", "is", "big"]], order=2),
     r"sentences\[0\]: token 'new york' is empty or contains whitespace.*'new_york'"),
    (dict(sentences=[["a"], ["b", "c\td"]], order=2), r"sentences\[1\]: token 'c\\td'"),
    (dict(sentences=[[1, 2, 3]], order=2), r"sentences\[0\]: token 1 is int, expected str"),
])
def test_kneser_ney_estimation_rejects_bad_corpora_naming_token_and_sentence(kwargs, message):
    from reference.numpy.ngram import estimate_kneser_ney

    with pytest.raises(ValueError, match=message):
        estimate_kneser_ney(**kwargs)


@pytest.mark.equation("ngram.kneser_ney_interpolated")
def test_kneser_ney_arpa_reads_gzip_and_names_a_file_that_is_not_utf8(tmp_path):
    import gzip

    from reference.arpa import ArpaError, read_arpa, write_arpa

    src = DATA / "tiny.o2.arpa"
    gz = tmp_path / "tiny.o2.arpa.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    plain, packed = read_arpa(src), read_arpa(gz)
    assert packed.order == plain.order and list(packed.words) == list(plain.words)
    latin = tmp_path / "latin1.arpa"
    latin.write_bytes(src.read_bytes().replace(b"</s>", "</s>\u00e9".encode("latin-1"), 1))
    with pytest.raises(ArpaError, match=r"latin1.arpa: not UTF-8 text \(byte \d+"):
        read_arpa(latin)
    plain.words[3] = "new york"
    with pytest.raises(ArpaError, match=r"cannot write the word 'new york'"):
        write_arpa(plain, tmp_path / "out.arpa")


@pytest.mark.bad_input
@pytest.mark.parametrize("damage", ["corrupt", "truncated"])
def test_kneser_ney_a_damaged_gzip_arpa_or_corpus_is_named(damage, tmp_path):
    """A gzip body that does not decompress is a named error of the file, never a zlib.error traceback."""
    import gzip

    from reference.numpy.ngram import read_corpus

    def damaged(data: bytes) -> bytes:
        g = gzip.compress(data)
        if damage == "truncated":
            return g[: len(g) // 2]
        return g[:20] + bytes(b ^ 0x55 for b in g[20:-8]) + g[-8:]

    arpa = tmp_path / "m.arpa.gz"
    arpa.write_bytes(damaged((DATA / "tiny.o2.arpa").read_bytes()))
    with pytest.raises(ArpaError, match=re.escape(str(arpa)) + r": a gzip file that does not decompress"):
        read_arpa(arpa)
    corpus = tmp_path / "c.txt.gz"
    corpus.write_bytes(damaged((DATA / "corpus.txt").read_bytes()))
    with pytest.raises(ValueError, match=r"a gzip file that does not decompress"):
        read_corpus(corpus)


def test_kneser_ney_read_corpus_reads_gzip_as_lmplz_does(tmp_path):
    import gzip

    from reference.numpy.ngram import read_corpus

    gz = tmp_path / "corpus.txt.gz"
    gz.write_bytes(gzip.compress((DATA / "corpus.txt").read_bytes()))
    plain, packed = read_corpus(DATA / "corpus.txt"), read_corpus(gz)
    assert packed.words == plain.words
    np.testing.assert_array_equal(packed.stream, plain.stream)


@pytest.mark.bad_input
def test_arpa_minus_infinity_round_trips_and_kenlm_reads_it(tmp_path):
    """A zero probability is written -inf (not -99) and read back as -inf; a zero back-off weight is written -99
    (KenLM's reader refuses an infinite one). kenlm, where installed, loads the file."""
    model = read_arpa(DATA / "tiny.o2.arpa")
    model.logprob[1][0] = -np.inf
    model.backoff[0][3] = -np.inf
    path = tmp_path / "inf.arpa"
    write_arpa(model, path)
    text = path.read_text()
    assert "\n-inf\t" in text, "log10 p = -inf must be written as -inf"
    again = read_arpa(path)
    assert again.logprob[1][0] == -np.inf
    assert again.backoff[0][3] == -99.0
    np.testing.assert_array_equal(again.logprob[1][1:], model.logprob[1][1:].astype(np.float64))
    try:
        import kenlm
    except ImportError:
        return
    kenlm.Model(str(path))  # parses -inf as a log10 p


# ---------------------------------------------------------------- the paths at scale give the same model

#: tokens (short, packed into one integer; long; non-ASCII; with a NUL byte) and separators (ASCII
#: whitespace, the information separators and Unicode spaces str.split() also splits on, a dash it does not)
_TOKENS = ["a", "b", "ab", "abcdefgh", "abcdefghi", "longer-than-eight", "é", "日本語", "x\x00y", "<unk>"]
_SEPARATORS = [" ", " ", "\t", "  ", "\r", "\x1c", "\u00a0", "\u2003", "\u3000", "\u2014"]


@st.composite
def _raw_texts(draw) -> str:
    lines = draw(st.lists(st.lists(st.tuples(st.sampled_from(_TOKENS), st.sampled_from(_SEPARATORS)), max_size=6),
                          min_size=1, max_size=8))
    text = "\n".join("".join(t + s for t, s in line) for line in lines)
    return text + ("\n" if draw(st.booleans()) else "")


def _numba_or_skip(compiled: bool, monkeypatch) -> None:
    """Select the compiled path (skipped without Numba) or the NumPy one."""
    if compiled:
        pytest.importorskip("numba")
        monkeypatch.delenv("LMVERIFY_NO_NUMBA", raising=False)
    else:
        monkeypatch.setenv("LMVERIFY_NO_NUMBA", "1")


@pytest.mark.equation("ngram.kneser_ney_interpolated")
@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "numba"])
@given(text=_raw_texts(), block=st.integers(1, 40))
def test_kneser_ney_read_corpus_equals_encode_corpus(compiled, text, block, monkeypatch):
    """The bytes readers (NumPy: packed short tokens; Numba: a hash table of byte strings; read in blocks) and
    the str path give the same ids, the same vocabulary order (first appearance) and the same errors, whatever
    the block boundaries."""
    import io

    import reference.numpy.ngram as ngram

    _numba_or_skip(compiled, monkeypatch)
    monkeypatch.setattr(ngram, "_READ_BYTES", block)
    monkeypatch.setattr(ngram, "_COMPILED_READ_AT", 0)
    try:
        want = encode_corpus(text.split("\n"))
    except ValueError as exc:
        with pytest.raises(ValueError, match=re.escape(str(exc))):
            ngram.read_corpus(io.BytesIO(text.encode()))
        return
    got = ngram.read_corpus(io.BytesIO(text.encode()))
    assert got.words == want.words
    np.testing.assert_array_equal(got.stream, want.stream)


def test_kneser_ney_read_corpus_compiled_grows_its_tables(tmp_path, monkeypatch):
    """Enough distinct words (and long ones) that the compiled reader's hash table, word arrays and byte pool
    grow several times inside a block and across blocks: the same corpus as the str path."""
    import reference.numpy.ngram as ngram

    pytest.importorskip("numba")
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 40_000, size=60_000)
    words = np.array([f"w{i}" if i % 7 else f"a-much-longer-word-{i}" for i in range(40_000)], dtype=object)
    lines = [" ".join(words[ids[a: a + 12]]) for a in range(0, len(ids), 12)]
    path = tmp_path / "c.txt"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(ngram, "_READ_BYTES", 1 << 17)
    monkeypatch.setattr(ngram, "_COMPILED_READ_AT", 0)
    got, want = ngram.read_corpus(path), encode_corpus(lines)
    assert got.words == want.words
    np.testing.assert_array_equal(got.stream, want.stream)


@pytest.mark.equation("ngram.kneser_ney_interpolated")
@given(corpus=S.corpora(max_sentences=10, max_len=8), order=st.integers(2, 5))
def test_kneser_ney_counting_paths_agree(corpus, order, monkeypatch):
    """n-grams as one mixed-radix integer (V^order < 2^63; counted by NumPy and, with the fast extra, by the
    compiled loops) and as successive (prefix rank, word) keys (any V and order) give the same model."""
    import reference.numpy.ngram as ngram

    mixed = estimate_kneser_ney(corpus, order, discount_fallback=True)
    import importlib.util

    if importlib.util.find_spec("numba") is not None:
        monkeypatch.setattr(ngram, "_COMPILED_AT_TOKENS", 0)
        compiled = estimate_kneser_ney(corpus, order, discount_fallback=True)
        monkeypatch.setattr(ngram, "_COMPILED_AT_TOKENS", 1 << 16)
        for k in range(order):
            np.testing.assert_array_equal(mixed.keys[k], compiled.keys[k])
            np.testing.assert_array_equal(mixed.logprob[k], compiled.logprob[k])
    monkeypatch.setattr(ngram, "_count_ngrams_mixed_radix", ngram._count_ngrams_successive)
    successive = estimate_kneser_ney(corpus, order, discount_fallback=True)
    for k in range(order):
        np.testing.assert_array_equal(mixed.keys[k], successive.keys[k])
        np.testing.assert_array_equal(mixed.logprob[k], successive.logprob[k])
        np.testing.assert_array_equal(mixed.backoff[k], successive.backoff[k])


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("path", ["mixed_radix", "successive"])
def test_kneser_ney_int64_fallback_gives_the_int32_model(path, compiled, monkeypatch):
    """Counts, ranks, positions and indexes are int32 where they fit; a table that could pass the int32 bound
    (lowered here to 16, so every table takes it) keeps int64 (for the successive path with the compiled
    kernels: the int64 radix sort), and the model is the same bit for bit."""
    import reference.numpy.ngram as ngram

    _numba_or_skip(compiled, monkeypatch)
    monkeypatch.setattr(ngram, "_COMPILED_AT_TOKENS", 0 if compiled else 1 << 62)
    if path == "successive":
        monkeypatch.setattr(ngram, "_count_ngrams_mixed_radix", ngram._count_ngrams_successive)
    corpus = encode_corpus(_lines("corpus.txt")[:300])
    narrow = estimate_kneser_ney(corpus, 4, discount_fallback=True)
    tables = ngram._count_ngrams_mixed_radix(corpus.stream, len(corpus.words), 4)
    assert all(t[1].dtype == np.int32 and t[2].dtype == np.int32 for t in tables)
    monkeypatch.setattr(ngram, "_INT32_BOUND", 16)
    assert ngram._index_dtype(16) is np.int64 and ngram._index_dtype(15) is np.int32
    tables = ngram._count_ngrams_mixed_radix(corpus.stream, len(corpus.words), 4)
    assert all(t[1].dtype == np.int64 and t[2].dtype == np.int64 for t in tables)
    wide = estimate_kneser_ney(corpus, 4, discount_fallback=True)
    for k in range(4):
        np.testing.assert_array_equal(narrow.keys[k], wide.keys[k])
        np.testing.assert_array_equal(narrow.logprob[k], wide.logprob[k])
        np.testing.assert_array_equal(narrow.backoff[k], wide.backoff[k])


@pytest.mark.parametrize("block", [1, 7, 1000])
def test_kneser_ney_blocks_give_the_model_of_one_block(block, monkeypatch):
    """The interpolation works on blocks of about ``_GATHER_BLOCK`` n-grams cut where a context begins (a
    context longer than a block is one block), the successive counting ranks positions a block of n-grams at a
    time; any block size gives the model of one block bit for bit."""
    import reference.numpy.ngram as ngram

    corpus = encode_corpus(_lines("corpus.txt")[:300])
    whole = estimate_kneser_ney(corpus, 4, discount_fallback=True)
    runs = np.arange(40) % 9  # keys c * 10 + j, j < runs[c]: contexts of 0 to 8 keys
    ctx = np.repeat(np.arange(40), runs)
    keys = ctx * 10 + (np.arange(len(ctx)) - np.repeat(np.cumsum(runs) - runs, runs))
    assert np.all(np.diff(keys) > 0)
    monkeypatch.setattr(ngram, "_GATHER_BLOCK", block)
    blocks = ngram._context_blocks(keys, 10)
    assert blocks[0][0] == 0 and blocks[-1][1] == len(ctx) and all(b[1] == c[0] for b, c in zip(blocks, blocks[1:]))
    assert all(ctx[s - 1] != ctx[s] for s, _ in blocks[1:]) and ngram._context_blocks(keys[:0], 10) == []
    assert block > 8 or all(e - s <= block or len(set(ctx[s:e])) == 1 for s, e in blocks)
    blocked = estimate_kneser_ney(corpus, 4, discount_fallback=True)
    monkeypatch.setattr(ngram, "_count_ngrams_mixed_radix", ngram._count_ngrams_successive)  # ranks in blocks
    ranked = estimate_kneser_ney(corpus, 4, discount_fallback=True)
    for k in range(4):
        for m in (blocked, ranked):
            np.testing.assert_array_equal(whole.keys[k], m.keys[k])
            np.testing.assert_array_equal(whole.logprob[k], m.logprob[k])
            np.testing.assert_array_equal(whole.backoff[k], m.backoff[k])


@pytest.mark.parametrize("order", [1, 2, 4])
def test_write_kneser_ney_arpa_streams_the_same_bytes(order, tmp_path):
    """write_kneser_ney_arpa (each order written once final, then freed) writes the bytes of write_arpa of
    estimate_kneser_ney's model, to a file name and to a file object; ``release_stream`` drops the corpus's ids
    and ``before_write`` gets the counts and the statistics first."""
    import io

    from reference.numpy.ngram import write_kneser_ney_arpa

    corpus = encode_corpus(_lines("corpus.txt")[:300])
    model, stats = estimate_kneser_ney(corpus, order, return_statistics=True, discount_fallback=True)
    write_arpa(model, tmp_path / "model.arpa")
    seen = []
    buf = io.BytesIO()
    got = write_kneser_ney_arpa(corpus, order, buf, discount_fallback=True,
                                before_write=lambda counts, st: seen.append((counts, st, buf.tell())))
    assert buf.getvalue() == (tmp_path / "model.arpa").read_bytes()
    assert seen == [(model.counts(), stats, 0)] and got == stats
    write_kneser_ney_arpa(corpus, order, tmp_path / "streamed.arpa", discount_fallback=True, release_stream=True)
    assert corpus.stream is None
    assert (tmp_path / "streamed.arpa").read_bytes() == (tmp_path / "model.arpa").read_bytes()


def test_write_arpa_orders_names_a_missing_or_misplaced_order(tmp_path):
    from reference.arpa import write_arpa_orders

    model = estimate_kneser_ney(_lines("corpus.txt")[:50], 2)
    with pytest.raises(ValueError, match="expected the values of order 2, got nothing"):
        write_arpa_orders(model.words, model.keys, [(1, model.logprob[0], model.backoff[0])], tmp_path / "a")
    with pytest.raises(ValueError, match="expected the values of order 1, got order 2"):
        write_arpa_orders(model.words, model.keys, [(2, model.logprob[1], model.backoff[1])], tmp_path / "b")


def _write_arpa_line_by_line(model, path) -> None:
    """The ARPA writer in its plainest form: one formatted line per n-gram (the oracle of the fast one)."""
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("\\data\\\n" + "".join(f"ngram {k}={c}\n" for k, c in enumerate(model.counts(), start=1)))
        for k in range(1, model.order + 1):
            f.write(f"\n\\{k}-grams:\n")
            for g, lp, bo in zip(model.entries(k), model.logprob[k - 1], model.backoff[k - 1]):
                line = "%.9g\t%s" % (lp, " ".join(model.words[i] for i in g))  # log10 0 as -inf
                f.write(line + ("\t%.9g\n" % max(bo, -99.0) if k < model.order else "\n"))
        f.write("\n\\end\\\n")


@pytest.mark.parametrize("compiled", [False, True], ids=["numpy", "numba"])
@pytest.mark.parametrize("run", RUNS, ids=[r["arpa"] for r in RUNS])
def test_arpa_writer_equals_line_by_line_formatting(run, compiled, tmp_path, monkeypatch):
    """Byte for byte the file of the plainest writer, for KenLM's models and for ours, from the NumPy writer and
    from the compiled one."""
    import reference.arpa as arpa

    _numba_or_skip(compiled, monkeypatch)
    monkeypatch.setattr(arpa, "_COMPILED_WRITE_AT", 0)
    for name, model in (("kenlm", read_arpa(DATA / run["arpa"])), ("ours", _estimate(run))):
        write_arpa(model, tmp_path / f"{name}.arpa")
        _write_arpa_line_by_line(model, tmp_path / f"{name}.plain.arpa")
        assert (tmp_path / f"{name}.arpa").read_bytes() == (tmp_path / f"{name}.plain.arpa").read_bytes(), name


@given(x=st.lists(st.one_of(st.floats(-1e4, 0.0), st.floats(-2e-4, 0.0), st.sampled_from(
    [0.0, -0.0, -99.0, -1.0, -1e-4, -9.99999999e-5, -999.9999995, -0.5, -1e-300, float("-inf")])), max_size=40))
def test_arpa_number_formatting_is_printf_9g(x):
    from reference.arpa import _format_numbers

    mat, keep = _format_numbers(np.asarray(x, dtype=np.float64))
    got = [bytes(row[k]).decode() for row, k in zip(mat, keep)]
    assert got == ["%.9g" % v for v in x]


@given(x=st.lists(st.one_of(st.floats(-1e4, 0.0), st.floats(-2e-4, 0.0), st.floats(-1000.0, -999.99), st.sampled_from(
    [0.0, -0.0, -99.0, -1.0, -1e-4, -9.99999999e-5, -999.9999995, -0.5, -1e-300, -0.1, float("-inf")])),
    min_size=1, max_size=40))
def test_arpa_compiled_number_formatting_is_printf_9g(x):
    """The compiled writer's '%.9g' where it decides (the rest goes to Python's)."""
    jit = pytest.importorskip("reference._arpa_jit")
    v = np.asarray(x, dtype=np.float64)
    undecided = jit.g9_undecided(v)
    assert not undecided[np.isin(v, [0.0, -1.0, -0.5, -99.0])].any()
    for value, und in zip(v, undecided):
        if not und:
            out = np.zeros(32, np.uint8)
            end = jit.put_g9(out, 0, value)
            assert bytes(out[:end]).decode() == "%.9g" % value, value


@given(keys=st.lists(st.integers(0, 2**40), unique=True, max_size=300), probes=st.lists(st.integers(0, 2**40),
                                                                                      max_size=300))
def test_arpa_hash_index_finds_exactly_the_stored_keys(keys, probes):
    from reference.arpa import _HashIndex

    keys = np.sort(np.asarray(keys, dtype=np.int64))
    needles = np.asarray(probes + keys[::3].tolist(), dtype=np.int64)
    got = _HashIndex(keys).find(needles)
    pos = np.minimum(np.searchsorted(keys, needles), max(len(keys) - 1, 0))
    want = np.where((len(keys) > 0) & (keys[pos] == needles) if len(keys) else np.zeros(len(needles), bool), pos, -1)
    np.testing.assert_array_equal(got, want)


@pytest.mark.oracle
@pytest.mark.parametrize("extra", [[], ["\u00a0the house", "a\u2003b"]], ids=["bytes-path", "unicode-spaces"])
def test_arpa_batch_and_sentence_scoring_agree(extra):
    """A batch (words as packed keys in a hash index, n-grams in hash tables) and sentence by sentence
    scoring (dictionary, binary search) give the same numbers, with long and non-ASCII words too."""
    unusual = ["the", "extraordinarily", "日本語", "é", "house", "noun17"]  # 15, 9 and 2 UTF-8 bytes
    model = estimate_kneser_ney([s for s in _lines("corpus.txt")[:300]] + [" ".join(unusual)] * 3, 3)
    lines = [s for s in _lines("corpus.txt")[:300:2]] + ["zzz the", "", "house house house",
                                                           "the extraordinarily 日本語 é house", "longunknownword é"]
    lines += extra
    h, w = model.sentence_ngrams(lines)
    batch = model.score_ngrams(h, w)
    one_by_one = np.concatenate([model.full_scores(s) for s in lines])
    np.testing.assert_array_equal(batch, one_by_one)


@pytest.mark.oracle
@pytest.mark.parametrize("arpa", ["corpus.o3.arpa", "tiny.o3.arpa", "corpus.o2.arpa"])
def test_arpa_scores_do_not_depend_on_the_order_of_the_rows(arpa):
    """Rows that continue the previous one reuse its n-gram lookup; shuffled rows (none continues
    another) must give the same numbers, KenLM-style float32 sums and matched lengths included."""
    model = read_arpa(DATA / arpa)
    lines = _lines("corpus.txt")[:200] + ["zzz the house", "", "the"]
    h, w = model.sentence_ngrams(lines)
    perm = np.random.default_rng(0).permutation(len(w))
    for kw in ({}, {"float32": True, "return_length": True}):
        in_order = model.score_ngrams(h, w, **kw)
        shuffled = model.score_ngrams(h[perm], w[perm], **kw)
        for a, b in zip(*(x if isinstance(x, tuple) else (x,) for x in (in_order, shuffled))):
            np.testing.assert_array_equal(a[perm], b)


@pytest.mark.oracle
@pytest.mark.equation("ngram.kneser_ney_interpolated")
@given(corpus=S.corpora(), order=st.integers(1, 5), bos=st.booleans(), eos=st.booleans())
def test_arpa_sentence_walk_equals_the_batch_sum(corpus, order, bos, eos):
    """score_sentence walks one sentence (compiled by Numba, or in Python with dictionaries); both walks must
    give the batch's numbers, summed, for every order, with and without <s> and </s>, unknown words and token
    lists included."""
    model = estimate_kneser_ney(corpus, order, discount_fallback=True)
    for s in corpus + ["a z b", "z", "", ["a", "<s>", "b"]]:
        h, w = model.sentence_ngrams([s], bos=bos, eos=eos)
        want = float(model.score_ngrams(h, w).sum())
        ids = [model.index.get(t, model.index["<unk>"]) for t in (s.split() if isinstance(s, str) else s)]
        ids += [model.index["</s>"]] if eos else []
        # the compiled walk where Numba is installed (the test extra has it), and the Python walk
        for walk, got in (("score_sentence", model.score_sentence(s, bos=bos, eos=eos)),
                          ("python walk", model._walk_python(ids, bos))):
            n = len(w) + 1
            if np.isfinite(want):
                assert abs(got - want) <= 1e-12 * n * max(1.0, abs(want)), (walk, s, order, bos, eos, got, want)
            else:
                assert got == want, (walk, s, order, bos, eos, got, want)


@pytest.mark.oracle
@pytest.mark.equation("ngram.kneser_ney_interpolated")
@given(corpus=S.corpora(), order=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_arpa_compiled_rows_equal_the_array_scorer(corpus, order, seed):
    """With the fast extra, score_ngrams runs row by row in machine code; it must give the array scorer's
    numbers bit for bit (float64 and KenLM's float32 sums) and its matched lengths, on arbitrary histories
    (missing words as -1 anywhere), not only those of running text."""
    model = estimate_kneser_ney(corpus, order, discount_fallback=True)
    if model._compiled_walk() is None:  # (this loads it: score_ngrams then uses it)
        pytest.skip("the fast extra (numba) is not installed")
    rng = np.random.default_rng(seed)
    V, n = model.vocab_size, 64
    h = rng.integers(-1, V, size=(n, max(order - 1, 0)))
    w = rng.integers(0, V, size=n)
    for float32 in (False, True):
        fast = model.score_ngrams(h, w, return_length=True, float32=float32)
        arrays = model._score_arrays(h, w, True, float32)
        np.testing.assert_array_equal(fast[0], arrays[0])
        np.testing.assert_array_equal(fast[1], arrays[1])


def test_arpa_score_ngrams_refuses_ids_outside_the_vocabulary():
    model = read_arpa(DATA / "tiny.o2.arpa")
    with pytest.raises(ValueError, match="words must be word ids in 0..12"):
        model.score_ngrams(np.array([[0]]), np.array([13]))
    with pytest.raises(ValueError, match="histories must be word ids in 0..12 or -1"):
        model.score_ngrams(np.array([[-2]]), np.array([1]))
