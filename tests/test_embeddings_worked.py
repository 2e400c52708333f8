"""word_embeddings.md: the list claims of the worked examples judged as sets, and the page's code block.

List claims (the pairs of each sentence, the aggregated pairs, the n-grams of `where` and `running`, the
n-grams `run` and `running` share). The worked-example machinery (lmverify/worked.py) judges numbers, so the
recipes turn each list into numbers (its size, and 1/0 for "equals the printed list"); here the same printed
lists, transcribed in the YAML under ``inputs.printed``, are compared with the computed sets, and a wrong list
is reported by what is missing and what is extra. With ``--course`` the transcription is checked against the
page's line.

The page's code block (gensim Word2Vec on ten sentences, neighbours of `king`, king - man + woman, a t-SNE
plot) runs in a subprocess in a temporary folder, with a time limit, headless plotting (Agg) and
PYTHONHASHSEED=0; lines appended to the code save the trained vectors with NumPy. Its printed neighbours and
analogy scores are recomputed from those vectors with the project's own functions.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from lmverify.backends import Backend
from lmverify.worked import EXAMPLES_DIR, judge_number, load_example, parse_printed

T = "embeddings"
PAGE = "word_embeddings.md"


def _example(name):
    return load_example(EXAMPLES_DIR / "embeddings" / f"{name}.yaml")


def _pairs_of(sentence: str, window: int) -> set[tuple[str, str]]:
    """Unordered pairs within the window, from the project's co-occurrence matrix of this one sentence."""
    words = sentence.split()
    vocab = sorted(set(words))
    X = Backend("numpy").call(T, "cooccurrence_matrix", [[vocab.index(w) for w in words]], len(vocab), window)
    return {tuple(sorted((vocab[i], vocab[j]))) for i in range(len(vocab)) for j in range(i + 1, len(vocab))
            if X[i, j] > 0}


def _list_claims():
    """(example, claim name, computed set, printed list) for every list claim of the page."""
    co = _example("cooccurrence_five_words")
    window = int(co.inputs["window"])
    out = []
    for n, sentence in enumerate(co.inputs["sentences"], start=1):
        out.append((co, f"sentence {n}: the pairs (as a set)", _pairs_of(sentence, window),
                    {tuple(sorted(p)) for p in co.inputs["printed"][f"sentence_{n}"]}))
    allpairs = set().union(*(_pairs_of(s, window) for s in co.inputs["sentences"]))
    out.append((co, "the unordered pairs (as a set)", allpairs, {tuple(sorted(p)) for p in co.inputs["printed"]["aggregate"]}))
    ft = _example("fasttext_ngrams")
    n = int(ft.inputs["n"])
    grams = Backend("numpy").fn(T, "character_ngrams")
    for word in ("where", "running"):
        out.append((ft, f"3-grams of {word}", set(grams(word, n, n)), set(ft.inputs["printed"][word])))
    out.append((ft, "3-grams shared by run and running",
                set(grams("run", n, n)) & set(grams("running", n, n)), set(ft.inputs["printed"]["shared_run_running"])))
    return out


LIST_CLAIMS = _list_claims()


def _claim(example, name):
    return next(c for c in example.claims if c.label == name)


@pytest.mark.worked_example
@pytest.mark.equation("embeddings.glove_cooccurrence", "embeddings.fasttext_ngrams")
@pytest.mark.parametrize("example,name,computed,printed", LIST_CLAIMS, ids=[c[1] for c in LIST_CLAIMS])
def test_embeddings_list_claims_judged_as_sets(example, name, computed, printed):
    """A list claim is right when the printed items equal the computed set; a wrong one is recorded as an
    erratum whose explanation names every missing and every extra item."""
    claim = _claim(example, name)
    missing, extra = sorted(computed - printed), sorted(printed - computed)
    where = f"{example.page} line {claim.line} ({name})"
    if claim.verdict == "correct":
        assert not missing and not extra, (
            f"{where}: the printed list is wrong: missing {missing}, extra {extra} (computed {sorted(computed)})")
    else:
        assert missing or extra, f"{where}: recorded as an erratum but the printed list is now right - update the record"
        text = claim.explanation or ""
        for item in missing + extra:
            shown = item if isinstance(item, str) else f"({item[0]},{item[1]})"
            assert shown in text, f"{where}: the recorded explanation does not name {shown!r} (missing {missing}, extra {extra})"


def _printed_items(line: str, after: str) -> list[str]:
    return re.findall(r"`([^`]+)`", line.split(after, 1)[1] if after else line)


@pytest.mark.worked_example
@pytest.mark.equation("embeddings.glove_cooccurrence", "embeddings.fasttext_ngrams")
def test_embeddings_list_claims_transcribed_as_printed(course_dir):
    """The printed lists in the YAML are the page's: the items between backticks on the claim's line."""
    lines = (course_dir / PAGE).read_text(encoding="utf-8").splitlines()
    co, ft = _example("cooccurrence_five_words"), _example("fasttext_ngrams")
    checks = []
    for n in (1, 2, 3):
        c = _claim(co, f"sentence {n}: the pairs (as a set)")
        items = [tuple(x.strip("()").split(",")) for x in _printed_items(lines[c.line - 1], f"Sentence {n}:")]
        checks.append((c, items, [tuple(p) for p in co.inputs["printed"][f"sentence_{n}"]]))
    c = _claim(co, "the unordered pairs (as a set)")
    items = [tuple(x.split(":")[0].strip("()").split(",")) for x in _printed_items(lines[c.line - 1], "")]
    checks.append((c, items, [tuple(p) for p in co.inputs["printed"]["aggregate"]]))
    for name, key, after in (("3-grams of where", "where", "3-grams include"),
                             ("3-grams of running", "running", "boundaries:"),
                             ("3-grams shared by run and running", "shared_run_running", "share")):
        c = _claim(ft, name)
        line = lines[c.line - 1].split("their sum")[0]  # line 201 goes on to name `rocket`, not an n-gram
        checks.append((c, _printed_items(line, after), list(ft.inputs["printed"][key])))
    problems = [f"line {c.line} ({c.label}): page prints {page}, YAML has {yaml_}"
                for c, page, yaml_ in checks if list(page) != list(yaml_)]
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- the page's code block

#: appended to the page's code (never edited): save the trained vectors for the recomputation
_APPENDED = '''
np.savez("trained_vectors.npz", words=np.array(model.wv.index_to_key), vectors=model.wv.vectors)
'''

#: stands in for scikit-learn's TSNE when scikit-learn is not installed (it is not a dependency of the
#: project): a 2-D PCA projection, so the plot is still drawn. Nothing checked comes from the plot.
_TSNE_STUB = '''
import numpy as np
class TSNE:
    def __init__(self, n_components=2, random_state=None, perplexity=30.0, **kw):
        self.n_components = n_components
    def fit_transform(self, X):
        X = np.asarray(X, dtype=float) - np.mean(X, axis=0)
        U, S, Vt = np.linalg.svd(X, full_matrices=False)
        return U[:, :self.n_components] * S[:self.n_components]
'''


@lru_cache(maxsize=None)
def _run_page_code(course: str):
    from lmverify.pagecode import code_blocks

    blocks = code_blocks(Path(course) / PAGE)
    assert len(blocks) == 1, f"expected one code block in {PAGE}, found {len(blocks)}"
    with tempfile.TemporaryDirectory(prefix="lmverify-page-code-") as tmp:
        tmp = Path(tmp)
        (tmp / "page_code.py").write_text(blocks[0].code + _APPENDED, encoding="utf-8")
        env = dict(os.environ, MPLBACKEND="Agg", PYTHONHASHSEED="0")
        stubbed = importlib.util.find_spec("sklearn") is None
        if stubbed:
            (tmp / "stubs" / "sklearn").mkdir(parents=True)
            (tmp / "stubs" / "sklearn" / "__init__.py").write_text("")
            (tmp / "stubs" / "sklearn" / "manifold.py").write_text(_TSNE_STUB)
            env["PYTHONPATH"] = os.pathsep.join([str(tmp / "stubs")] + [p for p in [env.get("PYTHONPATH")] if p])
        p = subprocess.run([sys.executable, "page_code.py"], cwd=tmp, capture_output=True, text=True, timeout=120,
                           env=env)
        where = f"{PAGE}:{blocks[0].line}"
        assert p.returncode == 0, f"{where}: the page's code failed:\n{p.stderr[-2000:]}"
        data = np.load(tmp / "trained_vectors.npz")
        png = (tmp / "word2vec_tsne.png").is_file()
        return where, p.stdout, [str(w) for w in data["words"]], data["vectors"].astype(np.float64), png, stubbed


def _printed_ranking(stdout: str, header: str) -> list[tuple[str, str]]:
    block = stdout.split(header, 1)[1].strip("\n").split("\n\n")[0]
    return re.findall(r"^\s+(\S+)\s+(-?[0-9.]+)$", block, flags=re.M)


@pytest.mark.slow
@pytest.mark.worked_example
@pytest.mark.equation("embeddings.cosine_similarity", "embeddings.analogy")
def test_cosine_and_analogy_page_code_output_recomputed(course_dir):
    """Every score the page's code prints equals the project's recomputation from the trained vectors at the
    printed precision (4 decimals), and the ranking is the same: the neighbours of king by cosine_similarity,
    the analogy by `analogy` on the unit-normalised vectors (gensim normalises before q = a - b + c)."""
    where, stdout, words, E, png, _ = _run_page_code(str(course_dir))
    assert png, f"{where}: no word2vec_tsne.png written"
    ref = Backend("numpy")
    ix = {w: i for i, w in enumerate(words)}
    problems = []
    neighbours = _printed_ranking(stdout, "Most similar to 'king':")
    cos = {w: float(ref.call(T, "cosine_similarity", E[ix["king"]], E[i])) for w, i in ix.items() if w != "king"}
    ranked = sorted(cos, key=lambda w: -cos[w])
    if [w for w, _ in neighbours] != ranked[:len(neighbours)]:
        problems.append(f"neighbours of king: printed {[w for w, _ in neighbours]}, recomputed {ranked[:5]}")
    for w, s in neighbours:
        if judge_number(parse_printed(s, where), cos[w]) != "correct":
            problems.append(f"cos(king, {w}): printed {s}, recomputed {cos[w]!r}")
    analogy = _printed_ranking(stdout, "king - man + woman →")
    unit = E / np.linalg.norm(E, axis=1, keepdims=True)
    _, scores, winner = ref.call(T, "analogy", unit, ix["king"], ix["man"], ix["woman"])
    order = [words[i] for i in np.argsort(-scores, kind="stable")]
    if [w for w, _ in analogy] != order[:len(analogy)] or analogy[0][0] != words[int(winner)]:
        problems.append(f"analogy: printed {[w for w, _ in analogy]}, recomputed {order[:3]}")
    for w, s in analogy:
        if judge_number(parse_printed(s, where), float(scores[ix[w]])) != "correct":
            problems.append(f"analogy score of {w}: printed {s}, recomputed {float(scores[ix[w]])!r}")
    assert len(neighbours) == 5 and len(analogy) == 3, f"{where}: unexpected output:\n{stdout}"
    assert not problems, f"{where}:\n  " + "\n  ".join(problems) + f"\noutput:\n{stdout}"


@pytest.mark.slow
@pytest.mark.worked_example
@pytest.mark.equation("embeddings.analogy")
def test_analogy_page_code_does_not_give_queen(course_dir):
    """Finding: the page's prose and comment promise king - man + woman ~ queen, but its own code (ten sentences,
    200 epochs, seed 42) ranks another word first, both by gensim's rule (normalised vectors) and by the page's
    equation on the raw vectors. Recorded here so the suite says so if that changes."""
    where, stdout, words, E, _, _ = _run_page_code(str(course_dir))
    ref = Backend("numpy")
    ix = {w: i for i, w in enumerate(words)}
    unit = E / np.linalg.norm(E, axis=1, keepdims=True)
    results = {}
    for label, table in (("gensim (normalised)", unit), ("page equation (raw vectors)", E)):
        _, scores, winner = ref.call(T, "analogy", table, ix["king"], ix["man"], ix["woman"])
        rank = 1 + int(np.sum(scores > scores[ix["queen"]]))
        results[label] = (words[int(winner)], rank)
    assert all(w != "queen" for w, _ in results.values()), (
        f"{where}: the page's code now gives queen ({results}): the finding in docs/embeddings.md is out of date")


# ---------------------------------------------------------------- a student's module (--impl)


@pytest.mark.slow
@pytest.mark.equation("embeddings.cbow_context")
def test_cbow_context_student_sum_fails_with_the_hint_and_missing_functions_skip():
    """``pytest -k "embeddings and cbow_context" --impl embeddings=...``: the student's summed context fails,
    naming the equation and the mistake; the functions the student has not written are skipped."""
    root = Path(__file__).resolve().parent.parent
    student = root / "tests" / "data" / "students" / "embeddings_cbow_sum.py"
    from lmverify.grade import run_pytest

    r = run_pytest("-rs", "tests/test_equations.py", "-k", "matches_oracle and (cbow_context or cosine or one_hot)",
                   f"--impl=embeddings={student}")
    out = r.stdout
    assert r.returncode == 1, out[-3000:]
    assert "embeddings.cbow_context" in out and "Hint: your result equals what the sum of the neighbours" in out, out[-3000:]
    import re

    assert re.search(r"\b1 failed, [1-9]\d* passed", out), out[-3000:]  # cbow_context fails; the cosine passes
    assert "does not define one_hot" in out, out[-3000:]
