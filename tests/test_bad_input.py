"""Bad numeric input to the reference functions: each case gets a named error (ValueError/TypeError naming the
function and the argument, and what was expected) or the oracle's answer (PyTorch for softmax and attention:
``torch.softmax`` and ``F.scaled_dot_product_attention``), never a silent NaN or a silently wrong number.

Each case runs on the NumPy reference and on the PyTorch form (the torch form gets tensors, and NumPy arrays in
the tests that say so). The rules (docs/attention.md, docs/information.md, docs/ngram.md): NaN in the input
propagates to the output; a fully masked attention row gives zeros (F.scaled_dot_product_attention's answer,
where torch.softmax gives NaN).
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

pytestmark = pytest.mark.bad_input

FORMS = ("numpy", "torch")
inf, nan = math.inf, math.nan


def ref(form: str, topic: str, name: str):
    return getattr(importlib.import_module(f"reference.{form}.{topic}"), name)


def arr(form: str, x, dtype=np.float64):
    """x as the backend's array: a NumPy array, or a float64 tensor for the torch form."""
    a = np.asarray(x, dtype=dtype)
    return torch.from_numpy(a.copy()) if form == "torch" else a


def npy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def same(got, want):
    """Equal, NaN where NaN (NaN == NaN here: a NaN is the expected answer)."""
    np.testing.assert_array_equal(npy(got), npy(want))


# ================================================================= softmax (oracle: torch.softmax)

NON_FINITE_ROWS = {
    "+inf and 0": [inf, 0.0],
    "-inf and 0": [-inf, 0.0],
    "NaN and 0": [nan, 0.0],
    "+inf twice": [inf, inf],
    "+inf and -inf": [inf, -inf],
    "-inf and NaN": [-inf, nan],
    "+inf and NaN": [inf, nan],
    "-inf, 1, 2": [-inf, 1.0, 2.0],
    "large finite": [1e308, -1e308, 0.0],
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("row", list(NON_FINITE_ROWS), ids=list(NON_FINITE_ROWS))
def test_softmax_of_a_non_finite_row_is_torch_softmax(form, row):
    z = NON_FINITE_ROWS[row]
    want = torch.softmax(torch.tensor(z, dtype=torch.float64), dim=-1)
    np.testing.assert_allclose(npy(ref(form, "attention", "softmax")(arr(form, z))), npy(want),
                               rtol=1e-15, atol=0, equal_nan=True)


@pytest.mark.parametrize("form", FORMS)
def test_softmax_of_a_fully_masked_row_is_zeros_as_scaled_dot_product_attention(form):
    # our convention (docs/attention.md): torch.softmax gives NaN here, the attention kernel gives zeros
    same(ref(form, "attention", "softmax")(arr(form, [[-inf, -inf], [0.0, 0.0]])), [[0.0, 0.0], [0.5, 0.5]])
    Q = torch.ones(2, 2, dtype=torch.float64)
    V = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64)
    keep = torch.tensor([[False, False], [True, True]])
    oracle = F.scaled_dot_product_attention(Q, Q, V, attn_mask=keep)
    out, W = ref(form, "attention", "scaled_dot_product_attention")(arr(form, Q), arr(form, Q),
                                                                        arr(form, V), mask=npy(keep))
    np.testing.assert_allclose(npy(out), npy(oracle), rtol=1e-15, atol=0)
    same(npy(W)[0], [0.0, 0.0])


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_softmax_with_a_subnormal_tau_is_the_argmax_limit_not_nan(form, dtype):
    # z / tau overflows to inf - inf = NaN; (z - max z) / tau does not. The limit tau -> 0+ is the one-hot
    # on the argmax (ties share): softmax_temperature_limit(z, 0)
    softmax = ref(form, "attention", "softmax")
    limit = ref("numpy", "attention", "softmax_temperature_limit")
    for z in ([1.0, 2.0, 0.5], [3.0, 3.0, -1.0]):
        got = softmax(arr(form, z, dtype), 5e-324)
        np.testing.assert_array_equal(npy(got), limit(np.asarray(z), 0))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("shape", [(0,), (2, 0), (0, 3)])
def test_softmax_of_an_empty_array_is_empty_as_torch(form, shape):
    want = torch.softmax(torch.zeros(shape, dtype=torch.float64), dim=-1)
    got = ref(form, "attention", "softmax")(arr(form, np.zeros(shape)))
    assert npy(got).shape == tuple(want.shape)


@pytest.mark.parametrize("form", FORMS)
def test_softmax_of_a_0d_value_is_one_as_torch(form):
    want = torch.softmax(torch.tensor(3.0, dtype=torch.float64), dim=-1)
    got = ref(form, "attention", "softmax")(arr(form, 3.0))
    assert npy(got).shape == () and float(npy(got)) == float(want) == 1.0


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("tau, error, match", [
    (np.array([1.0, 2.0]), TypeError, r"softmax: the temperature tau must be one number, got an array of shape \(2,\)"),
    (True, TypeError, r"softmax: the temperature tau must be a number, got bool"),
    ("2", TypeError, r"softmax: the temperature tau must be a number, got str"),
    (0.0, ValueError, r"softmax: temperature tau must be > 0 and finite, got 0.0"),
    (-1.0, ValueError, r"tau must be > 0 and finite, got -1.0"),
    (nan, ValueError, r"tau must be > 0 and finite, got nan"),
    (inf, ValueError, r"tau must be > 0 and finite, got inf \(the limits .* softmax_temperature_limit\)"),
], ids=["array", "bool", "str", "zero", "negative", "nan", "inf"])
def test_softmax_tau_that_is_not_one_positive_number_is_named(form, tau, error, match):
    with pytest.raises(error, match=match):
        ref(form, "attention", "softmax")(arr(form, [1.0, 2.0]), tau)


def test_softmax_tau_may_be_a_0d_array_or_tensor():
    z = np.array([1.0, 2.0])
    want = ref("numpy", "attention", "softmax")(z, 0.5)
    np.testing.assert_array_equal(ref("numpy", "attention", "softmax")(z, np.float64(0.5)), want)
    np.testing.assert_array_equal(npy(ref("torch", "attention", "softmax")(torch.from_numpy(z), torch.tensor(0.5))), want)


# ================================================================= NumPy arrays on the PyTorch forms


def test_torch_dot_product_scores_given_numpy_arrays_transposes_k():
    # x.transpose(-2, -1) is the identity on a 2-D NumPy array: without the conversion this was Q K, not Q K^T
    rng = np.random.default_rng(0)
    Q, K = rng.normal(size=(2, 3)), rng.normal(size=(4, 3))
    got = ref("torch", "attention", "dot_product_scores")(Q, K)
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    np.testing.assert_allclose(npy(got), Q @ K.T, rtol=1e-15, atol=0)
    Q2 = rng.normal(size=(3, 3))  # square: Q K would have run silently before
    K2 = rng.normal(size=(3, 3))
    np.testing.assert_allclose(npy(ref("torch", "attention", "dot_product_scores")(Q2, K2)), Q2 @ K2.T, rtol=1e-15, atol=0)


def test_torch_forms_given_numpy_arrays_agree_with_numpy_everywhere():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(2, 4))
    np.testing.assert_allclose(npy(ref("torch", "attention", "softmax")(z)), ref("numpy", "attention", "softmax")(z),
                               rtol=1e-15, atol=0)
    Q, K, V = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 5))
    for name in ("scaled_dot_product_attention",):
        got, want = ref("torch", "attention", name)(Q, K, V), ref("numpy", "attention", name)(Q, K, V)
        np.testing.assert_allclose(npy(got[0]), want[0], rtol=1e-14, atol=1e-15)
    p = np.array([0.25, 0.75])
    assert float(ref("torch", "information", "entropy")(p)) == pytest.approx(float(ref("numpy", "information", "entropy")(p)),
                                                                            rel=1e-15)


def test_torch_forms_name_a_numpy_array_of_strings():
    with pytest.raises(TypeError, match=r"dot_product_scores: K must hold numbers, got a NumPy array of dtype <U1"):
        ref("torch", "attention", "dot_product_scores")(np.ones((2, 2)), np.full((2, 2), "a"))


# ================================================================= attention (oracle: F.scaled_dot_product_attention)


def _sdpa(Q, K, V):
    return F.scaled_dot_product_attention(*(torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in (Q, K, V)))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("fn", ["scaled_dot_product_attention", "flash_attention"])
def test_attention_with_d_k_zero_is_the_mean_of_v_as_torch(form, fn):
    rng = np.random.default_rng(2)
    Q, K, V = np.zeros((3, 0)), np.zeros((4, 0)), rng.normal(size=(4, 2))
    oracle = npy(_sdpa(Q, K, V))
    np.testing.assert_allclose(oracle, np.broadcast_to(V.mean(axis=0), (3, 2)), rtol=1e-15)  # what torch really does
    out = ref(form, "attention", fn)(arr(form, Q), arr(form, K), arr(form, V))
    out = out[0] if isinstance(out, tuple) else out
    np.testing.assert_allclose(npy(out), oracle, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("n, m, d_v", [(0, 4, 2), (3, 0, 2), (3, 4, 0), (0, 0, 0)])
@pytest.mark.parametrize("fn", ["scaled_dot_product_attention", "flash_attention"])
def test_attention_of_empty_sequences_is_torch_s_answer(form, n, m, d_v, fn):
    rng = np.random.default_rng(3)
    Q, K, V = rng.normal(size=(n, 2)), rng.normal(size=(m, 2)), rng.normal(size=(m, d_v))
    oracle = npy(_sdpa(Q, K, V))  # no keys: a zero output (an empty weighted sum), as a fully masked row
    out = ref(form, "attention", fn)(arr(form, Q), arr(form, K), arr(form, V))
    out = out[0] if isinstance(out, tuple) else out
    assert npy(out).shape == oracle.shape
    np.testing.assert_array_equal(npy(out), oracle)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("where", ["Q", "K"])
def test_flash_attention_propagates_nan_as_full_attention(form, where):
    # before: the NaN went into the running normaliser l, and l > 0 is False for NaN, so the row became zeros
    rng = np.random.default_rng(4)
    Q, K, V = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    (Q if where == "Q" else K)[0, 0] = nan
    oracle = npy(_sdpa(Q, K, V))
    out = ref(form, "attention", "flash_attention")(arr(form, Q), arr(form, K), arr(form, V), block_size=2)
    assert np.isnan(oracle).any()
    np.testing.assert_array_equal(np.isnan(npy(out)), np.isnan(oracle))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("fn", ["linear_attention", "linear_attention_recurrent"])
def test_linear_attention_with_d_k_zero_is_named(form, fn):
    with pytest.raises(ValueError, match=rf"{fn}: d_k = 0 .*expected d_k >= 1"):
        ref(form, "attention", fn)(arr(form, np.zeros((2, 0))), arr(form, np.zeros((2, 0))),
                                      arr(form, np.ones((2, 1))))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("args, bad", [((-1, 4, 4), "T"), ((3, -2, 4), "d_k"), ((3, 4, 2.5), "d_v"), ((True, 4, 4), "T")])
def test_attention_macs_of_a_negative_or_fractional_size_is_named(form, args, bad):
    with pytest.raises(ValueError, match=rf"attention_macs: {bad} must be >= 0 \(an integer\), got"):
        ref(form, "attention", "attention_macs")(*args)


@pytest.mark.parametrize("form", FORMS)
def test_attention_macs_of_zero_sizes_is_zero(form):
    assert tuple(ref(form, "attention", "attention_macs")(0, 4, 4)) == (0, 0)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("block_size", [0, 1.5, inf])
def test_flash_attention_block_size_must_be_a_positive_integer(form, block_size):
    with pytest.raises(ValueError, match=r"flash_attention: block_size must be >= 1 \(an integer\)"):
        ref(form, "attention", "flash_attention")(arr(form, np.ones((2, 2))), arr(form, np.ones((2, 2))),
                                                     arr(form, np.ones((2, 2))), block_size=block_size)


# ================================================================= embeddings


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("which", ["u", "v"])
@pytest.mark.parametrize("value", [inf, -inf])
def test_cosine_with_an_infinite_entry_is_named(form, which, value):
    u, v = np.array([1.0, 2.0]), np.array([3.0, 1.0])
    (u if which == "u" else v)[0] = value
    with pytest.raises(ValueError, match=rf"cosine_similarity: {which} has an infinite entry"):
        ref(form, "embeddings", "cosine_similarity")(arr(form, u), arr(form, v))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kwargs, bad", [({"x_max": 0.0}, "x_max"), ({"x_max": -5.0}, "x_max"), ({"x_max": nan}, "x_max"),
                                         ({"x_max": inf}, "x_max"), ({"alpha": nan}, "alpha"), ({"alpha": 0.0}, "alpha")])
def test_glove_weight_parameters_are_named(form, kwargs, bad):
    with pytest.raises(ValueError, match=rf"glove_weight: {bad} must be > 0 \(a finite number\)"):
        ref(form, "embeddings", "glove_weight")(arr(form, [0.0, 3.0, 200.0]), **kwargs)


@pytest.mark.parametrize("form", FORMS)
def test_fasttext_with_zero_buckets_is_named(form):
    with pytest.raises(ValueError, match=r"fasttext_word_vector: Z has 0 buckets \(rows\); expected at least one"):
        ref(form, "embeddings", "fasttext_word_vector")("where", arr(form, np.zeros((0, 3))))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("bad", [1.5, nan, inf])
def test_word_ids_are_never_truncated(form, bad):
    E = np.random.default_rng(5).normal(size=(5, 3))
    with pytest.raises(ValueError, match=r"analogy: \(a, b, c\) must hold integer word ids, got"):
        ref(form, "embeddings", "analogy")(arr(form, E), 0, bad, 2)
    with pytest.raises(ValueError, match=r"cooccurrence_matrix: V must be >= 1 \(an integer\)"):
        ref(form, "embeddings", "cooccurrence_matrix")([[0, 1]], bad, 1)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("k", [0.0, -1.0, nan, inf])
def test_negative_sampling_k_is_named(form, k):
    X = np.array([[2.0, 1.0], [1.0, 3.0]])
    with pytest.raises(ValueError, match=r"sgns_optimum: k must be > 0 \(a finite number\)"):
        ref(form, "embeddings", "sgns_optimum")(arr(form, X), k)
    with pytest.raises(ValueError, match=r"sgns_objective: k must be > 0 \(a finite number\)"):
        ref(form, "embeddings", "sgns_objective")(arr(form, np.zeros((2, 2))), arr(form, X), k)
    v = np.array([0.5, -0.25])
    with pytest.raises(ValueError, match=r"negative_sampling_expected: k must be > 0 \(a finite number\)"):
        ref(form, "embeddings", "negative_sampling_expected")(arr(form, v), arr(form, v), arr(form, np.eye(2)),
                                                               arr(form, [0.5, 0.5]), k)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("power", [nan, inf, -0.75])
def test_unigram_noise_power_is_named(form, power):
    # before: 1 ** nan = 1 in IEEE arithmetic, so counts of 1 gave a uniform distribution from a NaN power
    with pytest.raises(ValueError, match=r"unigram_noise: power must be >= 0 \(a finite number\)"):
        ref(form, "embeddings", "unigram_noise")(arr(form, [1.0, 1.0, 2.0]), power)


# ================================================================= information and perplexity


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("fn, arg", [("perplexity", "nll"), ("average_nll", "q_true")])
def test_information_per_token_input_needs_its_token_axis(form, fn, arg):
    with pytest.raises(ValueError, match=rf"{fn}: {arg} must have a token axis \(shape \(\.\.\., T\)\), got a 0-d value"):
        ref(form, "information", fn)(arr(form, 0.5))


@pytest.mark.parametrize("form", FORMS)
def test_information_perplexity_of_one_token_matches_scipy(form):
    from scipy.special import xlogy  # noqa: F401 - SciPy is the information topic's oracle
    from scipy.stats import entropy

    # the perplexity of a model that gives every token probability p is 1/p; as 2**H for the uniform
    # distribution over 1/p outcomes (SciPy's entropy in bits)
    got = ref(form, "information", "perplexity")(arr(form, [-math.log(0.25)]))
    assert float(npy(got)) == pytest.approx(2 ** entropy([0.25] * 4, base=2), rel=1e-15)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("fn", ["sequence_perplexity", "cross_entropy_bits"])
@pytest.mark.parametrize("log_probs, match", [
    ([], r"log_probs is empty: at least one token is needed"),
    (np.zeros((2, 0)), r"log_probs is empty"),
    (-1.0, r"log_probs must have a token axis \(shape \(\.\.\., T\)\), got a 0-d value"),
    ([-0.5, 0.25], r"log_probs must be natural-log probabilities <= 0, got 0.25 \(a probability above one\)"),
    ([inf], r"log_probs must be natural-log probabilities <= 0, got inf"),
], ids=["empty", "empty-rows", "0-d", "positive", "+inf"])
def test_sequence_perplexity_of_no_tokens_or_impossible_log_probs_is_named(form, fn, log_probs, match):
    with pytest.raises(ValueError, match=rf"{fn}: {match}"):
        ref(form, "ngram", fn)(arr(form, log_probs))


@pytest.mark.parametrize("form", FORMS)
def test_sequence_perplexity_of_a_zero_probability_is_inf_and_nan_propagates(form):
    ppl = ref(form, "ngram", "sequence_perplexity")
    assert float(npy(ppl(arr(form, [-1.0, -inf])))) == inf  # p = 0 somewhere: the perplexity is infinite
    assert math.isnan(float(npy(ppl(arr(form, [-1.0, nan])))))


# ================================================================= n-grams


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("counts, match", [
    ([3.0, -1.0, 2.0], r"unigram_mle: counts must be counts >= 0, got a negative count -1.0"),
    ([0.0, 0.0], r"unigram_mle: counts sums to zero"),
    ([1.0, inf], r"unigram_mle: counts must be finite counts"),
    (4.0, r"unigram_mle: counts must have a vocabulary axis"),
], ids=["negative", "all-zero", "inf", "0-d"])
def test_unigram_mle_of_counts_that_are_not_counts_is_named(form, counts, match):
    with pytest.raises(ValueError, match=match):
        ref(form, "ngram", "unigram_mle")(arr(form, counts))


@pytest.mark.parametrize("form", FORMS)
def test_unigram_mle_propagates_nan(form):
    assert np.isnan(npy(ref(form, "ngram", "unigram_mle")(arr(form, [1.0, nan])))).all()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("n, zero", [([0, 3, 2, 1], "n1"), ([5, 0, 2, 1], "n2"), ([5, 3, 0, 1], "n3"),
                                     ([0, 0, 0, 0], "n1, n2, n3")])
def test_kneser_ney_discounts_of_zero_counts_are_named(form, n, zero):
    with pytest.raises(ValueError, match=rf"kneser_ney_discounts: {zero} is 0 in .*undefined \(0/0\).*discount_fallback"):
        ref(form, "ngram", "kneser_ney_discounts")(arr(form, n))


@pytest.mark.parametrize("form", FORMS)
def test_kneser_ney_discounts_of_negative_or_nan_counts_are_named(form):
    for n in ([5, -3, 2, 1], [5, nan, 2, 1]):
        with pytest.raises(ValueError, match=r"kneser_ney_discounts: counts_of_counts must be finite counts >= 0"):
            ref(form, "ngram", "kneser_ney_discounts")(arr(form, n))


def test_kneser_ney_estimator_still_falls_back_on_zero_counts_of_counts():
    from reference.numpy.ngram import DiscountError, estimate_kneser_ney

    with pytest.raises(DiscountError, match="discount_fallback"):
        estimate_kneser_ney(["a b"], 2)
    model = estimate_kneser_ney(["a b"], 2, discount_fallback=True)
    assert model is not None


@pytest.mark.parametrize("form", FORMS)
def test_ngram_mle_and_backoff_propagate_nan_counts(form):
    # before: count(h) = NaN failed "count(h) > 0" and gave the 0 of an unseen context; a NaN count in the
    # backoff chose the lower order as if it were 0
    p = ref(form, "ngram", "ngram_mle")(arr(form, [[1.0, nan], [2.0, 2.0]]), arr(form, [nan, 4.0]))
    same(np.isnan(npy(p)), [[True, True], [False, False]])
    out = ref(form, "ngram", "backoff_literal")(arr(form, [[0.5, 0.5], [0.25, 0.75]]), arr(form, [[nan, 1.0], [1.0, 1.0]]))
    same(np.isnan(npy(out)), [True, False])
    cc = ref(form, "ngram", "continuation_counts")(arr(form, [[1.0, nan], [0.0, 2.0]]))
    same(np.isnan(npy(cc)), [False, True])


@pytest.mark.parametrize("form", FORMS)
def test_ngram_counts_must_be_non_negative(form):
    with pytest.raises(ValueError, match=r"ngram_mle: counts must be counts >= 0"):
        ref(form, "ngram", "ngram_mle")(arr(form, [[1.0, -1.0]]), arr(form, [0.0]))
    with pytest.raises(ValueError, match=r"add_k: k must be >= 0 \(a finite number\), got -0.5"):
        ref(form, "ngram", "add_k")(arr(form, [[1.0, 0.0]]), arr(form, [1.0]), -0.5, 2)
    with pytest.raises(ValueError, match=r"add_k: vocab_size must be >= 1 \(an integer\), got 2.5"):
        ref(form, "ngram", "add_k")(arr(form, [[1.0, 0.0]]), arr(form, [1.0]), 1.0, 2.5)


@pytest.mark.parametrize("form", FORMS)
def test_add_k_with_k_zero_on_an_unseen_context_is_the_mle_convention_not_nan(form):
    got = ref(form, "ngram", "add_k")(arr(form, [[0.0, 0.0], [1.0, 3.0]]), arr(form, [0.0, 4.0]), 0.0, 2)
    same(got, [[0.0, 0.0], [0.25, 0.75]])


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("D", [[nan, 0.5, 0.5], [0.5, inf, 0.5], [-0.1, 0.5, 0.5]])
def test_kneser_ney_interpolate_discounts_are_named(form, D):
    with pytest.raises(ValueError, match=r"kneser_ney_interpolate: discounts must be three finite numbers >= 0"):
        ref(form, "ngram", "kneser_ney_interpolate")(arr(form, [[2.0, 0.0]]), arr(form, [[0.5, 0.5]]),
                                                       arr(form, D))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("order", [nan, -1, 1.5])
def test_markov_order_is_named(form, order):
    with pytest.raises(ValueError, match=r"markov_conditionals: order must be >= 0 \(an integer\)"):
        ref(form, "ngram", "markov_conditionals")(arr(form, np.full((2, 2), 0.25)), order)


# ================================================================= recurrent


@pytest.mark.parametrize("form", FORMS)
def test_bptt_of_an_empty_history_is_the_identity(form):
    W = np.array([[0.5, -0.25], [0.125, 1.0]])
    J = ref(form, "recurrent", "bptt_jacobian_product")(arr(form, np.zeros((0, 2))), arr(form, W))
    same(J, np.eye(2))  # dh_0 / dh_0: the empty product
    Jb = ref(form, "recurrent", "bptt_jacobian_product")(arr(form, np.zeros((3, 0, 2))), arr(form, W))
    same(Jb, np.broadcast_to(np.eye(2), (3, 2, 2)))


@pytest.mark.parametrize("form", FORMS)
def test_gradient_scale_after_propagates_nan_and_names_fractional_steps(form):
    fn = ref(form, "recurrent", "gradient_scale_after")
    assert math.isnan(float(npy(fn(nan, 0))))  # IEEE's nan ** 0 is 1: NaN in, NaN out instead
    assert float(npy(fn(0.5, 3))) == 0.125
    for steps in (2.5, -1, inf):
        with pytest.raises(ValueError, match=r"gradient_scale_after: steps must be >= 0 \(an integer\)"):
            fn(0.5, steps)


# ================================================================= seq2seq


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("targets", [[0, -1], [0, 3]], ids=["negative", "past-V"])
def test_sequence_log_likelihood_target_outside_the_vocabulary_is_named(form, targets):
    # before: -1 indexed the last class (while sequence_loss rejected it)
    logits = arr(form, np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"sequence_log_likelihood: targets must be token ids in \[0, 3\)"):
        ref(form, "seq2seq", "sequence_log_likelihood")(logits, arr(form, targets, np.int64))
    with pytest.raises(ValueError, match=r"sequence_loss: targets must lie in \[0, 3\)"):
        ref(form, "recurrent", "sequence_loss")(logits, arr(form, targets, np.int64))


def _step(prefix):
    return np.log(np.array([0.5, 0.3, 0.2]))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kwargs, match", [
    ({"beam_width": inf}, r"beam_search: beam_width must be >= 1 \(an integer\), got inf"),
    ({"beam_width": 2.5}, r"beam_search: beam_width must be >= 1 \(an integer\), got 2.5"),
    ({"beam_width": 0}, r"beam_search: beam_width must be >= 1 \(an integer\), got 0"),
    ({"beam_width": 2, "steps": nan}, r"beam_search: steps must be >= 0 \(an integer\), got nan"),
    ({"beam_width": 2, "alpha": nan}, r"beam_search: alpha must be >= 0 \(a finite number\), got nan"),
], ids=["inf-width", "fractional-width", "zero-width", "nan-steps", "nan-alpha"])
def test_beam_search_sizes_are_named(form, kwargs, match):
    kwargs = {"steps": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        ref(form, "seq2seq", "beam_search")(_step, **kwargs)


@pytest.mark.parametrize("form", FORMS)
def test_decoding_start_token_and_targets_outside_the_vocabulary_are_named(form):
    rng = np.random.default_rng(6)
    E, h0 = rng.normal(size=(3, 2)), np.zeros(2)
    W_hh, W_xh, b = rng.normal(size=(2, 2)), rng.normal(size=(2, 2)), np.zeros(2)
    W_out, b_out = rng.normal(size=(3, 2)), np.zeros(3)
    a = lambda x: arr(form, x)  # noqa: E731
    free = ref(form, "seq2seq", "free_running_decode")
    with pytest.raises(ValueError, match=r"free_running_decode: bos must be a token id in \[0, 3\), got -1"):
        free(a(h0), a(E), a(W_hh), a(W_xh), a(b), a(W_out), a(b_out), 2, bos=-1)
    tokens, logits = free(a(h0), a(E), a(W_hh), a(W_xh), a(b), a(W_out), a(b_out), 0)
    assert npy(tokens).shape == (0,) and npy(logits).shape == (0, 3)  # no steps: nothing decoded
    teacher = ref(form, "seq2seq", "teacher_forcing_logits")
    with pytest.raises(ValueError, match=r"teacher_forcing_logits: bos must be a token id in \[0, 3\)"):
        teacher(arr(form, [1, 2], np.int64), a(h0), a(E), a(W_hh), a(W_xh), a(b), a(W_out), a(b_out), bos=-1)
    with pytest.raises(ValueError, match=r"teacher_forcing_logits: targets must be token ids in \[0, 3\)"):
        teacher(arr(form, [-1, 2], np.int64), a(h0), a(E), a(W_hh), a(W_xh), a(b), a(W_out), a(b_out))


@pytest.mark.parametrize("form", FORMS)
def test_scheduled_sampling_steps_and_rates_are_named(form):
    # a negative step made k**i > 1: a "probability" above one
    with pytest.raises(ValueError, match=r"scheduled_sampling_exponential: the training step i must be >= 0"):
        ref(form, "seq2seq", "scheduled_sampling_exponential")(-1, 0.5)
    with pytest.raises(ValueError, match=r"scheduled_sampling_linear: epsilon must be >= 0 and <= 1 \(a finite number\)"):
        ref(form, "seq2seq", "scheduled_sampling_linear")(3, 1.0, 0.01, -0.5)
    with pytest.raises(ValueError, match=r"scheduled_sampling_linear: c must be >= 0 \(a finite number\)"):
        ref(form, "seq2seq", "scheduled_sampling_linear")(3, 1.0, -0.01, 0.05)
    with pytest.raises(ValueError, match=r"scheduled_sampling_mix: seed must be >= 0 \(an integer\), got 1.5"):
        ref(form, "seq2seq", "scheduled_sampling_mix")([1, 2], [2, 1], 0.5, seed=1.5)


# ================================================================= YAML limits (lmverify/safeyaml.py)

ALIAS_BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{x}: &{x} [{', '.join([f'*{p}'] * 9)}]\n" for p, x in zip("abcdefgh", "bcdefghi"))


def test_yaml_alias_bomb_is_refused_by_name_within_a_second(tmp_path):
    import time

    import yaml

    from lmverify import safeyaml

    assert len(ALIAS_BOMB) < 800  # 9**9 = 387 million strings once expanded
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    t = time.perf_counter()
    with pytest.raises(safeyaml.YAMLLimitError, match=rf"{path}: refused at line \d+: the document expands to more "
                                                      r"than 200000 nodes .*alias bomb"):
        safeyaml.load_file(path)
    assert time.perf_counter() - t < 1.0
    assert issubclass(safeyaml.YAMLLimitError, yaml.YAMLError)  # callers' "except yaml.YAMLError" name the file


@pytest.mark.parametrize("text", ["[" * 5000 + "]" * 5000, "".join("  " * i + f"k{i}:\n" for i in range(150)) + "  " * 150 + "x: 1\n",
                                  "a: &a [[[[[[[[[[1]]]]]]]]]]\nb: &b [*a, [[[[[[[[[[*a]]]]]]]]]]]\nc: [*b, [[[[[[[[[[[*b]]]]]]]]]]]]\n"],
                         ids=["flow", "block", "aliases"])
def test_yaml_nesting_beyond_the_depth_limit_is_refused_by_name(text):
    from lmverify import safeyaml

    if text.startswith("a: &a"):  # nested aliases: depth 10 + 12 + 12 = 34 expanded; refused under a limit of 30
        with pytest.raises(safeyaml.YAMLLimitError, match=r"nests deeper than 30 levels \(aliases expanded\)"):
            safeyaml.load(text, "deep.yaml", max_depth=30)
        assert safeyaml.load(text, "deep.yaml")["a"] == [[[[[[[[[[1]]]]]]]]]]
        return
    with pytest.raises(safeyaml.YAMLLimitError, match=r"deep.yaml: refused at line \d+: the document nests deeper than 100"):
        safeyaml.load(text, "deep.yaml")


def test_yaml_duplicate_keys_and_malformed_yaml_keep_their_named_errors():
    import yaml

    from lmverify import safeyaml

    with pytest.raises(yaml.constructor.ConstructorError, match=r"key 'a' appears twice \(first at line 1\)"):
        safeyaml.load("a: 1\nb: 2\na: 3\n", "dup.yaml")
    with pytest.raises(yaml.YAMLError, match="undefined alias"):
        safeyaml.load("a: *nope\n", "alias.yaml")
    assert safeyaml.load("x: [1, 2, {y: 3}]\n", "ok.yaml") == {"x": [1, 2, {"y": 3}]}


def test_a_worked_example_that_is_an_alias_bomb_names_its_file(tmp_path):
    from lmverify.worked import WorkedExampleError, load_example

    folder = tmp_path / "attention"
    folder.mkdir()
    path = folder / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    with pytest.raises(WorkedExampleError, match=rf"{path}: not valid YAML: .*expands to more than 200000 nodes"):
        load_example(path)


def test_the_catalogue_and_unjudged_records_use_the_bounded_loader(tmp_path):
    from lmverify.catalogue import CatalogueError, _load_file
    from lmverify.course.accounting import load_unjudged
    from lmverify.worked import WorkedExampleError

    path = tmp_path / "attention.yaml"
    path.write_text(ALIAS_BOMB)
    with pytest.raises(CatalogueError, match=rf"{path}: not valid YAML: .*alias bomb"):
        _load_file(path)
    with pytest.raises(WorkedExampleError, match=rf"{path}: not valid YAML: .*alias bomb"):
        load_unjudged(tmp_path, only=path)


# ================================================================= pages that are links out of the course folder


def _linked_course(tmp_path):
    outside = tmp_path / "secret.md"
    outside.write_text("# not a course page\n\n```python\nprint(1)\n```\n")
    course = tmp_path / "course"
    course.mkdir()
    (course / "inside.md").write_text("# a page\n")
    (course / "alias.md").symlink_to(course / "inside.md")  # a link within the folder is fine
    (course / "leak.md").symlink_to(outside)
    return course, outside


def test_a_page_linked_outside_the_course_is_refused_by_read_page_and_code_blocks(tmp_path):
    from lmverify.pages import CourseError, code_blocks, read_page

    course, outside = _linked_course(tmp_path)
    assert read_page(course, "inside.md") == read_page(course, "alias.md") == "# a page\n"
    message = rf"leak.md: page 'leak.md' is a link to '{outside}', outside the course folder '{course}'"
    with pytest.raises(CourseError, match=message):
        read_page(course, "leak.md")
    with pytest.raises(CourseError, match=message):
        code_blocks(course / "leak.md")


def test_a_page_linked_outside_the_course_is_refused_by_the_course_model(tmp_path):
    from lmverify.course.course import Course
    from lmverify.pages import CourseError

    course, _ = _linked_course(tmp_path)
    pages = Course(course)
    assert pages.page("alias.md").lines == ["# a page"]
    with pytest.raises(CourseError, match=r"leak.md.* outside the course folder"):
        pages.page("leak.md")


# ================================================================= a recipe that raises or returns inf


def test_a_recipe_that_raises_or_returns_inf_is_a_named_error_of_its_example(tmp_path, capsys, monkeypatch):
    import textwrap
    from pathlib import Path

    import lmverify.report
    from lmverify.cli import main
    from lmverify.course.verify import build

    root = Path(__file__).resolve().parent.parent
    folder = tmp_path / "attention"
    folder.mkdir()
    (folder / "recipes.py").write_text(textwrap.dedent("""\
        def boom(inputs, b):
            raise RuntimeError("the recipe broke")


        def infinite(inputs, b):
            return {"T_squared": float("inf")}
        """))
    record = (root / "worked_examples" / "attention" / "macs_t2048.yaml").read_text()
    for name in ("boom", "infinite"):
        (folder / f"h5_{name}.yaml").write_text(record.replace("id: attention.macs_t2048", f"id: attention.h5_{name}")
                                                .replace("recipe: macs_example", f"recipe: {name}"))
    from lmverify.exitcodes import EXIT_ERRATA, EXIT_EXAMPLE

    # the report as the command runs it, without the equation catalogue's coverage table (seconds of SymPy)
    monkeypatch.setattr(lmverify.report, "build", lambda *a, **k: build(*a, **dict(k, equations=[])))
    code = main(["report", "--examples-dir", str(tmp_path), "--topic", "attention"])
    out, err = capsys.readouterr()
    assert code == EXIT_EXAMPLE != EXIT_ERRATA, err[-2000:]
    assert "Traceback" not in err
    assert "recipe boom of example attention.h5_boom raised RuntimeError: the recipe broke" in err
    assert "recipe infinite of example attention.h5_infinite returned inf for claim T^2 (quantity 'T_squared')" in err
    assert "**Example not judged**" in out
    assert "attention.macs_t2048" in out  # the other examples are still judged and reported


# ================================================================= argmax over NaN (decoding): a named error, never a token

@pytest.mark.parametrize("form", FORMS)
def test_free_running_decode_with_nan_in_the_embeddings_is_named_not_an_argmax_of_nan(form):
    """NaN logits have no argmax: np.argmax/torch.argmax would pick token 0 (or the first NaN) and feed it on."""
    E = np.ones((4, 2))
    E[0, 0] = nan
    kw = dict(h0=arr(form, np.zeros(2)), E=arr(form, E), W_hh=arr(form, np.eye(2)), W_xh=arr(form, np.eye(2)),
              b=arr(form, np.zeros(2)), W_out=arr(form, np.ones((4, 2))), b_out=arr(form, np.zeros(4)), steps=2)
    with pytest.raises(ValueError, match=r"free_running_decode: the logits at step 1 hold NaN"):
        ref(form, "seq2seq", "free_running_decode")(**kw)
    kw["E"] = arr(form, np.ones((4, 2)))  # the same call without NaN decodes
    tokens, _ = ref(form, "seq2seq", "free_running_decode")(**kw)
    same(tokens, np.zeros(2))


@pytest.mark.parametrize("form", FORMS)
def test_greedy_decode_over_nan_log_probabilities_is_named(form):
    def step(prefix):
        lp = np.log(np.array([0.25, 0.5, 0.25]))
        if len(prefix) == 1:
            lp[2] = nan
        return arr(form, lp)

    with pytest.raises(ValueError, match=r"greedy_decode: the log-probabilities at step 2 hold NaN \(at token ids \[2\]"):
        ref(form, "seq2seq", "greedy_decode")(step, 3)
