"""FastText (word_embeddings.md, "FastText and Subwords"): character n-grams of <word>, FastText's FNV-1a hash
into buckets, and the word vector as the sum of its n-gram vectors.

Oracle: gensim 4.4's own FastText helpers, which reproduce Facebook's dictionary.cc:
``gensim.models.fasttext_inner.compute_ngrams`` (characters), ``compute_ngrams_bytes`` (UTF-8 bytes, the
original's loop), ``ft_hash_bytes`` (the hash, bytes sign-extended as signed chars) and
``gensim.models.fasttext.ft_ngram_hashes``; and a trained gensim FastText model's out-of-vocabulary vector.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lmverify import strategies as S
from lmverify.backends import Backend
from lmverify.registry.embeddings import fasttext_words
from lmverify.tolerance import tolerance_for

T = "embeddings"
FORMS = ("sympy", "numpy", "torch64")


def _ngrams(form, word, minn, maxn):
    return list(Backend(form).fn(T, "character_ngrams")(word, minn, maxn))


@pytest.mark.oracle
@pytest.mark.equation("embeddings.fasttext_ngrams")
@S.budget(0.25)
@given(word=fasttext_words, minn=st.integers(2, 4), extra=st.integers(0, 3))
def test_fasttext_ngrams_equal_gensim_compute_ngrams(word, minn, extra):
    from gensim.models.fasttext_inner import compute_ngrams

    maxn = minn + extra
    expected = list(compute_ngrams(word, minn, maxn))
    for form in FORMS:
        got = _ngrams(form, word, minn, maxn)
        assert got == expected, f"{form}: character_ngrams({word!r}, {minn}, {maxn}) = {got}, gensim gives {expected}"


@pytest.mark.oracle
@pytest.mark.equation("embeddings.fasttext_ngrams")
@S.budget(0.25)
@given(word=fasttext_words, minn=st.integers(1, 4), extra=st.integers(0, 3))
def test_fasttext_ngrams_equal_the_original_byte_loop_as_sets(word, minn, extra):
    """compute_ngrams_bytes is dictionary.cc's loop (no lone '<' or '>' 1-gram, multi-byte characters kept whole)."""
    from gensim.models.fasttext_inner import compute_ngrams_bytes

    maxn = minn + extra
    expected = sorted(b.decode("utf-8") for b in compute_ngrams_bytes(word, minn, maxn))
    got = sorted(_ngrams("numpy", word, minn, maxn))
    missing, extra_ = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    assert got == expected, f"character_ngrams({word!r}, {minn}, {maxn}): missing {missing}, extra {extra_}"


@pytest.mark.equation("embeddings.fasttext_ngrams")
@S.budget(0.25)
@given(word=fasttext_words, minn=st.integers(2, 4), extra=st.integers(0, 4))
def test_fasttext_ngrams_count_and_the_whole_word_token(word, minn, extra):
    maxn = minn + extra
    L = len(word) + 2  # with < and >
    grams = _ngrams("numpy", word, minn, maxn)
    assert len(grams) == sum(L - n + 1 for n in range(minn, min(maxn, L) + 1))
    assert (f"<{word}>" in grams) == (minn <= L <= maxn), "<word> is an n-gram exactly when minn <= its length <= maxn"


def test_fasttext_ngrams_of_the_page_words_with_n_3_and_3_to_6():
    assert _ngrams("numpy", "where", 3, 3) == ["<wh", "whe", "her", "ere", "re>"]
    assert len(_ngrams("numpy", "running", 3, 6)) == 7 + 6 + 5 + 4  # n = 3..6 of the 9 characters of <running>
    assert "<where>" in _ngrams("numpy", "where", 3, 7) and "<where>" not in _ngrams("numpy", "where", 3, 6)


@pytest.mark.oracle
@pytest.mark.equation("embeddings.fasttext_hash")
@S.budget(0.25)
@given(ngram=fasttext_words)
def test_fasttext_hash_equals_gensim_ft_hash_bytes(ngram):
    from gensim.models.fasttext_inner import ft_hash_bytes

    expected = int(ft_hash_bytes(ngram.encode("utf-8")))
    for form in FORMS:
        got = int(Backend(form).fn(T, "fasttext_hash")(ngram))
        assert got == expected, f"{form}: fasttext_hash({ngram!r}) = {got}, gensim ft_hash_bytes gives {expected}"


def test_fasttext_hash_sign_extends_bytes_unlike_plain_fnv1a():
    """FastText XORs each byte as a *signed* char: for non-ASCII bytes it differs from textbook FNV-1a."""
    def fnv1a(s):
        h = 2166136261
        for byte in s.encode("utf-8"):
            h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
        return h

    h = Backend("numpy").fn(T, "fasttext_hash")
    assert h("<ru") == fnv1a("<ru"), "ASCII: the same as FNV-1a"
    assert h("<é") != fnv1a("<é"), "a byte >= 0x80 is sign-extended before the XOR"


@pytest.mark.oracle
@pytest.mark.equation("embeddings.fasttext_hash")
@S.budget(0.25)
@given(word=fasttext_words, buckets=st.sampled_from([1, 7, 1000, 2000000]))
def test_fasttext_hash_buckets_equal_gensim_ft_ngram_hashes(word, buckets):
    from gensim.models.fasttext import ft_ngram_hashes

    h = Backend("numpy").fn(T, "fasttext_hash")
    got = sorted(h(g) % buckets for g in _ngrams("numpy", word, 3, 6))
    assert got == sorted(ft_ngram_hashes(word, 3, 6, buckets)), word


@pytest.mark.equation("embeddings.fasttext_word_vector")
@S.budget(0.25)
@given(data=st.data())
def test_fasttext_word_vector_is_the_sum_of_its_ngram_rows(check, data):
    word = data.draw(fasttext_words, label="word")
    Z = data.draw(S.arrays((data.draw(st.integers(1, 9), label="buckets"), 2), exact=check.exact), label="Z")
    v = check.call(word=word, Z=Z, minn=3, maxn=3)
    h = Backend("numpy").fn(T, "fasttext_hash")
    rows = [h(g) % Z.shape[0] for g in _ngrams("numpy", word, 3, 3)]
    check.close(v, Z[rows].sum(axis=0), what="v_word", expected_from="sum of the hashed n-gram rows")
    check.close(check.call(word=word, Z=2 * Z, minn=3, maxn=3), 2 * v, what="v_word(2 Z)",
                expected_from="2 v_word (linear in the table)")


@pytest.mark.equation("embeddings.fasttext_word_vector")
def test_fasttext_word_vector_run_and_running_share_their_common_ngram_rows(check):
    """With a bucket table whose rows are one-hot per n-gram (a bucket count with no collision among these
    n-grams), v_run . v_running counts the shared 3-grams: <ru and run (not unn, as the page says)."""
    grams = sorted(set(_ngrams("numpy", "run", 3, 3)) | set(_ngrams("numpy", "running", 3, 3)))
    h = Backend("numpy").fn(T, "fasttext_hash")
    buckets = next(B for B in range(len(grams), 1000) if len({h(g) % B for g in grams}) == len(grams))
    Z = np.zeros((buckets, len(grams)))
    for i, g in enumerate(grams):
        Z[h(g) % buckets, i] = 1.0
    v_run = check.call(word="run", Z=Z, minn=3, maxn=3)
    v_running = check.call(word="running", Z=Z, minn=3, maxn=3)
    check.close(v_run @ v_running, 2.0, what="v_run . v_running", expected_from="two shared 3-grams (<ru, run)")
    shared = [g for g, x, y in zip(grams, v_run, v_running) if x > 0.5 and y > 0.5]
    check.law(shared == ["<ru", "run"], "the shared rows are those of <ru and run", got=shared)


@pytest.mark.oracle
@pytest.mark.equation("embeddings.fasttext_word_vector")
def test_fasttext_word_vector_matches_a_gensim_fasttext_model_for_unseen_words():
    """gensim's FastText vector of an out-of-vocabulary word is the *mean* of its n-gram vectors (rows of
    vectors_ngrams at ft_ngram_hashes): our sum divided by the number of n-grams."""
    from gensim.models import FastText

    model = FastText([["the", "king", "ruled"], ["the", "queen", "ruled"]], vector_size=4, window=1, min_count=1,
                     min_n=3, max_n=6, bucket=50, epochs=1, workers=1, seed=1)
    Z = model.wv.vectors_ngrams.astype(np.float64)
    for word in ("kingdom", "queenly", "zz"):
        n = len(_ngrams("numpy", word, 3, 6))
        ours = Backend("numpy").call(T, "fasttext_word_vector", word, Z, 3, 6) / n
        theirs = model.wv.get_vector(word).astype(np.float64)
        tol = tolerance_for("float32")  # gensim stores float32 vectors
        assert np.all(np.abs(ours - theirs) <= tol.atol + tol.rtol * np.abs(theirs)), (word, ours, theirs)
