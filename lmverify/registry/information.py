"""Registry entries of the information topic (information_theory.md): inputs, pinned extremes, errors, mistakes.

Laws particular to one equation, the oracles (SciPy, torch.nn.functional, torch.distributions),
the symbolic proofs and the page's code stay in tests/test_information_*.py.

Pinned inputs run on float32 too, so every pinned number is representable in float32
(tiny masses of 1e-30, not 1e-300).
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lmverify import strategies as S
from lmverify.registry import Equation, ErrorInput, Mistake, Pinned
from reference.numpy._common import log_softmax as _log_softmax

#: None (nats) or 2 (bits)
BASES = st.sampled_from([None, 2.0])

# -- inputs --------------------------------------------------------------------------------------


def _lead(batch):
    return () if batch is None else (batch,)


@S.composite
def _dists(draw, count, *, batch=None, full_support=False, max_len=6):
    """``count`` distributions of one length n, each (batch, n) or (n,)."""
    n = draw(st.integers(2 if count > 1 else 1, max_len))
    lo = 1 if full_support else 0
    out = []
    for _ in range(count):
        w = draw(hnp.arrays(np.int64, _lead(batch) + (n,), elements=st.integers(lo, 16))).astype(np.float64)
        w[..., 0][w.sum(axis=-1) == 0] = 1.0
        out.append(w / w.sum(axis=-1, keepdims=True))
    return out


def _entropy_inputs(exact: bool = False, batch: int | None = None):
    return st.tuples(_dists(1, batch=batch), BASES).map(lambda t: {"p": t[0][0], "base": t[1]})


def _pq_inputs(exact: bool = False, batch: int | None = None):
    return st.tuples(_dists(2, batch=batch), BASES).map(lambda t: {"p": t[0][0], "q": t[0][1], "base": t[1]})


@S.composite
def _one_hot_inputs(draw, exact: bool = False, batch: int | None = None):
    """A one-hot p (the true token) and a model distribution q: H(p, q) = -log q(true token)."""
    (q,) = draw(_dists(1, batch=batch, full_support=True))
    n = q.shape[-1]
    y = draw(hnp.arrays(np.int64, _lead(batch), elements=st.integers(0, n - 1)))
    return {"p": np.eye(n)[y], "q": q}


@S.composite
def _gradient_inputs(draw, exact: bool = False, batch: int | None = None):
    (p,) = draw(_dists(1, batch=batch, max_len=4))
    return {"p": p, "logits": draw(S.arrays(p.shape, exact=exact))}


def _nll_inputs(exact: bool = False, batch: int | None = None):
    T = st.integers(1, 6)
    el = st.integers(0, 64).map(lambda i: i / 8.0)
    return st.tuples(T, BASES).flatmap(
        lambda t: st.fixed_dictionaries({"nll": hnp.arrays(np.float64, _lead(batch) + (t[0],), elements=el),
                                         "base": st.just(t[1])}))


def _average_nll_inputs(exact: bool = False, batch: int | None = None):
    q = st.integers(1, 16).map(lambda i: i / 16.0)
    return st.tuples(st.integers(1, 6), BASES).flatmap(
        lambda t: st.fixed_dictionaries({"q_true": hnp.arrays(np.float64, _lead(batch) + (t[0],), elements=q),
                                         "base": st.just(t[1])}))


def _joint_inputs(exact: bool = False, batch: int | None = None):
    if batch is None:
        return st.tuples(S.joint_distributions(max_x=3, max_y=3), BASES).map(lambda t: {"pxy": t[0], "base": t[1]})

    @S.composite
    def draw(d):
        nx, ny = d(st.integers(1, 3)), d(st.integers(1, 3))
        w = d(hnp.arrays(np.int64, (batch, nx, ny), elements=st.integers(1, 16))).astype(np.float64)
        return {"pxy": w / w.sum(axis=(-2, -1), keepdims=True), "base": d(BASES)}

    return draw()


@S.composite
def _rlhf_inputs(draw, exact: bool = False):
    rows, n = draw(st.integers(1, 3)), draw(S.dims(4))
    return {"policy_logits": draw(S.arrays((rows, n), exact=exact)),
            "reference_logits": draw(S.arrays((rows, n), exact=exact)),
            "beta": draw(st.sampled_from([0.0, 0.1, 1.0]))}


def _bt_inputs(exact: bool = False, batch: int | None = None):
    shape = _lead(batch) + (3,)
    return st.fixed_dictionaries({"r1": S.arrays(shape, exact=exact), "r2": S.arrays(shape, exact=exact)})


def _dpo_inputs(exact: bool = False, batch: int | None = None):
    shape = _lead(batch) + (2,)
    arr = S.arrays(shape, exact=exact)
    return st.fixed_dictionaries({"policy_chosen_logp": arr, "policy_rejected_logp": arr,
                                  "reference_chosen_logp": arr, "reference_rejected_logp": arr,
                                  "beta": st.sampled_from([0.1, 0.5, 1.0])})


@S.composite
def _label_smoothing_inputs(draw, exact: bool = False, batch: int | None = None):
    K = draw(st.integers(2, 6))
    target = draw(st.integers(0, K - 1)) if batch is None else draw(
        hnp.arrays(np.int64, (batch,), elements=st.integers(0, K - 1)))
    return {"target": target, "num_classes": K, "epsilon": draw(st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0])),
            "convention": draw(st.sampled_from(["page", "torch"]))}


# -- known student mistakes (NumPy, same parameters) ------------------------------------------------


def _xlogy(x, y):
    from scipy.special import xlogy

    return xlogy(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))


def _scale(base):
    return 1.0 if base is None else np.log(base)


def _entropy_log2(p, base=None):
    return -np.sum(_xlogy(p, p), axis=-1) / np.log(2.0)


def _plogp_naive(x, y):
    """x log y computed as written, without the convention 0 log 0 = 0 (0 * -inf = NaN)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return x * np.log(y)


def _entropy_zero_log_zero_nan(p, base=None):
    return -np.sum(_plogp_naive(p, p), axis=-1) / _scale(base)


def _entropy_base_ignored(p, base=None):
    return -np.sum(_xlogy(p, p), axis=-1)


def _cross_entropy_base_ignored(p, q, base=None):
    return -np.sum(_xlogy(p, q), axis=-1)


def _kl_base_ignored(p, q, base=None):
    return np.sum(_xlogy(p, p) - _xlogy(p, q), axis=-1)


def _kl_zero_log_zero_nan(p, q, base=None):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(_plogp_naive(p, p / q), axis=-1) / _scale(base)


def _jsd_zero_log_zero_nan(p, q, base=None):
    m = (np.asarray(p, dtype=np.float64) + np.asarray(q, dtype=np.float64)) / 2
    return 0.5 * _kl_zero_log_zero_nan(p, m, base) + 0.5 * _kl_zero_log_zero_nan(q, m, base)


def _mi_zero_log_zero_nan(pxy, base=None):
    pxy = np.asarray(pxy, dtype=np.float64)
    prod = pxy.sum(-1)[..., :, None] * pxy.sum(-2)[..., None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sum(_plogp_naive(pxy, pxy / prod), axis=(-2, -1)) / _scale(base)


def _entropy_no_minus(p, base=None):
    return np.sum(_xlogy(p, p), axis=-1) / _scale(base)


def _cross_entropy_swapped(p, q, base=None):
    return -np.sum(_xlogy(q, p), axis=-1) / _scale(base)


def _kl_swapped(p, q, base=None):
    return np.sum(_xlogy(q, q) - _xlogy(q, p), axis=-1) / _scale(base)


def _kl_log2(p, q, base=None):
    return np.sum(_xlogy(p, p) - _xlogy(p, q), axis=-1) / np.log(2.0)


def _kl_forward(p, q, base=None):
    return _kl_swapped(q, p, base)


def _jsd_symmetrised_kl(p, q, base=None):
    return 0.5 * (_kl_swapped(q, p, base) + _kl_swapped(p, q, base))


def _jsd_without_halves(p, q, base=None):
    m = (np.asarray(p) + np.asarray(q)) / 2
    return _kl_swapped(m, p, base) + _kl_swapped(m, q, base)


def _perplexity_of_sum(nll, base=None):
    return np.exp(np.sum(nll, axis=-1) * _scale(base))


def _perplexity_base_ignored(nll, base=None):
    return np.exp(np.mean(nll, axis=-1))


def _average_nll_sum(q_true, base=None):
    with np.errstate(divide="ignore"):
        return -np.sum(np.log(q_true), axis=-1) / _scale(base)


def _mi_swapped(pxy, base=None):
    pxy = np.asarray(pxy, dtype=np.float64)
    prod = pxy.sum(-1)[..., :, None] * pxy.sum(-2)[..., None, :]
    return np.sum(_xlogy(prod, prod) - _xlogy(prod, pxy), axis=(-2, -1)) / _scale(base)


def _label_smoothing_eps_over_k(target, num_classes, epsilon, convention="page"):
    onehot = (np.asarray(target)[..., None] == np.arange(num_classes)).astype(np.float64)
    return onehot * (1 - epsilon) + (1 - onehot) * epsilon / num_classes


def _label_smoothing_always(convention_used):
    def wrong(target, num_classes, epsilon, convention="page"):
        from reference.numpy.information import label_smoothing_targets

        return label_smoothing_targets(target, num_classes, epsilon, convention_used)
    return wrong


def _rlhf_sign(policy_logits, reference_logits, beta):
    a, r = _log_softmax(policy_logits), _log_softmax(reference_logits)
    return beta * np.mean(np.sum(np.exp(a) * (a - r), axis=-1))


def _rlhf_reverse(policy_logits, reference_logits, beta):
    a, r = _log_softmax(policy_logits), _log_softmax(reference_logits)
    return -beta * np.mean(np.sum(np.exp(r) * (r - a), axis=-1))


def _bt_swapped(r1, r2):
    return 1.0 / (1.0 + np.exp(-(np.asarray(r2) - np.asarray(r1))))


def _dpo_no_beta(policy_chosen_logp, policy_rejected_logp, reference_chosen_logp, reference_rejected_logp, beta):
    z = (np.asarray(policy_chosen_logp) - reference_chosen_logp) - (np.asarray(policy_rejected_logp) - reference_rejected_logp)
    return np.logaddexp(0.0, -z)


def _dpo_swapped(policy_chosen_logp, policy_rejected_logp, reference_chosen_logp, reference_rejected_logp, beta):
    z = beta * ((np.asarray(policy_rejected_logp) - reference_rejected_logp)
                - (np.asarray(policy_chosen_logp) - reference_chosen_logp))
    return np.logaddexp(0.0, -z)


def _ce_gradient_p_minus_q(p, logits):
    return np.asarray(p) - np.exp(_log_softmax(logits))


ZERO_LOG_ZERO = ("p log p computed as written (a zero probability gives 0 * log 0 = 0 * (-inf) = NaN; the convention "
                 "is 0 log 0 = 0, a zero mass adds nothing, as scipy.special.xlogy computes it)")
BASE_IGNORED = "ignoring the log base (nats where base=2, bits, is asked: divide by ln(base))"

# -- pinned inputs (float32-representable) ------------------------------------------------------------

TINY = 1e-30  # a mass float32 holds (its smallest normal is 1.2e-38)
PAGE_CODE_P = np.array([0.4, 0.3, 0.2, 0.1])        # information_theory.md, code block, line 242
PAGE_CODE_Q_BAD = np.array([0.1, 0.1, 0.1, 0.7])    # line 244
PAGE_KL_P, PAGE_KL_Q = np.array([0.5, 0.5]), np.array([0.6, 0.4])  # "KL with Two Distributions", line 112
PAGE_Q = np.array([0.7, 0.2, 0.1])                  # "Token Prediction with Three Words", line 66

_BAD_P = {"NaN": np.array([0.5, np.nan, 0.5]), "negative mass": np.array([1.2, -0.2]),
          "sum to one": np.array([0.5, 0.4])}


def _distribution_errors(fn_name: str, args: tuple[str, ...], joint: bool = False, **extra) -> tuple[ErrorInput, ...]:
    """NaN, negative mass and a sum other than one in each argument (a (1, n) joint table with ``joint``)."""
    out = []
    for message, bad in _BAD_P.items():
        bad = bad[None, :] if joint else bad
        good = np.full(bad.shape, 1.0 / bad.size)
        for arg in args:
            kw = {a: (bad if a == arg else good) for a in args}
            out.append(ErrorInput(f"{arg} with {message}", dict(kw, **extra), ValueError,
                                  rf"{fn_name}: {arg} .*{message}"))
    half = np.array([[0.5, 0.5]]) if joint else np.array([0.5, 0.5])
    if args == ("p", "q"):
        out.append(ErrorInput("p and q of different lengths", {"p": half, "q": np.full(3, 1 / 3)}, ValueError,
                              rf"{fn_name}: p has 2 outcomes but q has 3"))
    out.append(ErrorInput("base = 1", dict({a: half for a in args}, base=1.0), ValueError,
                          "base must be a positive number other than 1"))
    return tuple(out)


_PQ_PINNED = (
    Pinned("the page's code block: p and q_bad", {"p": PAGE_CODE_P, "q": PAGE_CODE_Q_BAD}),
    Pinned("the page's KL example ([0.5, 0.5] || [0.6, 0.4]), in bits", {"p": PAGE_KL_P, "q": PAGE_KL_Q, "base": 2.0}),
    Pinned("tiny masses (1e-30) on both sides", {"p": np.array([0.5, 0.5, TINY]), "q": np.array([TINY, 0.5, 0.5])}),
    Pinned("zeros where the other is positive (0 log 0 = 0)", {"p": np.array([0.0, 0.25, 0.75]),
                                                               "q": np.array([0.5, 0.5, 0.0])}),
    Pinned("ties: p = q uniform", {"p": np.full(4, 0.25), "q": np.full(4, 0.25)}),
)
# cross-entropy and KL are +inf for the "zeros" pin (q = 0 where p = 0.75): the exact value is oo too

EQUATIONS = (
    Equation(
        "information.entropy",
        inputs=_entropy_inputs,
        batch_args=("p",),
        pinned=(
            Pinned("the page's code block p", {"p": PAGE_CODE_P}),
            Pinned("a point mass (0 log 0 = 0)", {"p": np.array([0.0, 1.0, 0.0])}),
            Pinned("tiny masses (1e-30)", {"p": np.array([0.5, 0.5, TINY, TINY])}),
            Pinned("ties: uniform over 8, in bits", {"p": np.full(8, 0.125), "base": 2.0}),
        ),
        errors=_distribution_errors("entropy", ("p",)),
        mistakes=(Mistake("bits instead of nats", "entropy in the wrong log base (log2, bits, where nats are asked)",
                          _entropy_log2),
                  Mistake("no minus sign", "sum p log p without the minus sign (a negative entropy)", _entropy_no_minus),
                  Mistake("0 log 0 as NaN", ZERO_LOG_ZERO, _entropy_zero_log_zero_nan),
                  Mistake("base ignored", BASE_IGNORED, _entropy_base_ignored)),
        grad=("p",),
        grad_at={"p": [0.25, 0.5, 0.25]},
    ),
    Equation(
        "information.cross_entropy",
        inputs=_pq_inputs,
        batch_args=("p", "q"),
        pinned=_PQ_PINNED,
        errors=_distribution_errors("cross_entropy", ("p", "q")),
        mistakes=(Mistake("arguments swapped", "H(q, p) = -sum q log p: the arguments of the cross-entropy swapped",
                          _cross_entropy_swapped),
                  Mistake("base ignored", BASE_IGNORED, _cross_entropy_base_ignored)),
        grad=("p", "q"),
        grad_at={"p": [0.25, 0.5, 0.25], "q": [0.5, 0.25, 0.25]},
    ),
    Equation(
        "information.cross_entropy_one_hot",
        inputs=_one_hot_inputs,
        batch_args=("p", "q"),
        pinned=(Pinned("the page's q = [0.7, 0.2, 0.1], true token 'cat'", {"p": np.array([1.0, 0.0, 0.0]), "q": PAGE_Q}),),
    ),
    Equation(
        "information.cross_entropy_one_hot_fish",
        inputs=_one_hot_inputs,
        pinned=(Pinned("the page's q = [0.7, 0.2, 0.1], true token 'fish'", {"p": np.array([0.0, 0.0, 1.0]), "q": PAGE_Q}),
                Pinned("a true token of probability 1e-30", {"p": np.array([0.0, 1.0]), "q": np.array([1.0, TINY])})),
    ),
    Equation(
        "information.kl_divergence",
        inputs=_pq_inputs,
        batch_args=("p", "q"),
        pinned=_PQ_PINNED,
        errors=_distribution_errors("kl_divergence", ("p", "q")),
        mistakes=(Mistake("arguments swapped", "KL(q || p): the arguments of the KL divergence swapped", _kl_swapped),
                  Mistake("bits instead of nats", "KL in the wrong log base (log2, bits, where nats are asked)",
                          _kl_log2),
                  Mistake("0 log 0 as NaN", ZERO_LOG_ZERO, _kl_zero_log_zero_nan),
                  Mistake("base ignored", BASE_IGNORED, _kl_base_ignored)),
        grad=("p", "q"),
        grad_at={"p": [0.25, 0.5, 0.25], "q": [0.5, 0.25, 0.25]},
    ),
    Equation(
        "information.kl_two_point_example",
        inputs=_pq_inputs,
        pinned=(Pinned("the page's [0.5, 0.5] || [0.6, 0.4]", {"p": PAGE_KL_P, "q": PAGE_KL_Q}),),
        mistakes=(Mistake("arguments swapped", "KL(q || p): the arguments of the KL divergence swapped", _kl_swapped),),
    ),
    Equation(
        "information.kl_forward_reverse",
        inputs=_pq_inputs,
        batch_args=("p", "q"),
        pinned=(Pinned("p = (1/2, 1/2), q = (9/10, 1/10)", {"p": np.array([0.5, 0.5]), "q": np.array([0.9, 0.1])}),
                Pinned("tiny masses (1e-30)", {"p": np.array([0.5, 0.5, TINY]), "q": np.array([TINY, 0.5, 0.5])})),
        errors=_distribution_errors("reverse_kl_divergence", ("p", "q")),
        mistakes=(Mistake("forward KL", "the forward KL(p || q) where the reverse KL(q || p) is asked", _kl_forward),),
        grad=("p", "q"),
        grad_at={"p": [0.25, 0.5, 0.25], "q": [0.5, 0.25, 0.25]},
    ),
    Equation(
        "information.kl_mode_covering",
        # no drawn inputs: a grid argmin has exact ties (e.g. every sigma at the midpoint mu of a symmetric
        # support gives the same q), which each backend's rounding breaks its own way; the hand-written
        # tests check that every backend's fit is optimal on the shared grid instead
        errors=(ErrorInput("direction not forward/reverse", {"p": np.array([0.5, 0.5]), "x": np.array([0.0, 1.0]),
                                                              "direction": "sideways"}, ValueError,
                           "direction must be 'forward' or 'reverse'"),),
    ),
    Equation(
        "information.perplexity_bits",
        inputs=_nll_inputs,
        pinned=(Pinned("mean NLL of 1 bit", {"nll": np.array([1.0, 1.0]), "base": 2.0}),
                Pinned("large NLL (40 bits)", {"nll": np.array([40.0]), "base": 2.0})),
        mistakes=(Mistake("base ignored", "exp(mean NLL) for NLLs in bits (the base ignored)", _perplexity_base_ignored),),
    ),
    Equation(
        "information.average_nll",
        inputs=_average_nll_inputs,
        batch_args=("q_true",),
        pinned=(Pinned("tiny probabilities (1e-30)", {"q_true": np.array([TINY, 0.5, 1.0])}),
                Pinned("certain tokens (q = 1)", {"q_true": np.ones(3)}),
                Pinned("the page's real numbers, in bits", {"q_true": np.array([0.7, 0.2, 0.1]), "base": 2.0})),
        errors=(ErrorInput("q_true > 1", {"q_true": np.array([0.5, 1.5])}, ValueError, "q_true must be probabilities"),
                ErrorInput("q_true < 0", {"q_true": np.array([0.5, -0.5])}, ValueError, "q_true must be probabilities"),
                ErrorInput("q_true NaN", {"q_true": np.array([0.5, np.nan])}, ValueError, "q_true must be probabilities"),
                ErrorInput("no tokens", {"q_true": np.array([])}, ValueError, "average_nll: q_true is empty")),
        mistakes=(Mistake("sum instead of mean", "the sum of the NLLs instead of their mean (no 1/T)", _average_nll_sum),),
        grad=("q_true",),
        grad_at={"q_true": [0.5, 0.25, 0.75]},
    ),
    Equation(
        "information.perplexity",
        inputs=_nll_inputs,
        batch_args=("nll",),
        pinned=(Pinned("zero NLL (perplexity 1)", {"nll": np.zeros(3)}),
                Pinned("large NLL (50 nats: 5e21, within float32)", {"nll": np.array([50.0, 50.0])}),
                Pinned("tiny NLL (1e-30)", {"nll": np.array([TINY])}),
                Pinned("the page's real numbers (3.0 and 2.5 nats)", {"nll": np.array([3.0, 2.5])})),
        errors=(ErrorInput("negative NLL", {"nll": np.array([1.0, -0.5])}, ValueError, "nll must be non-negative"),
                ErrorInput("no tokens", {"nll": np.array([])}, ValueError, "perplexity: nll is empty"),
                ErrorInput("NaN NLL", {"nll": np.array([1.0, np.nan])}, ValueError, "nll must be non-negative"),
                ErrorInput("base = 1", {"nll": np.array([1.0]), "base": 1.0}, ValueError,
                           "base must be a positive number other than 1")),
        mistakes=(Mistake("exp of the sum", "perplexity as exp of the SUM of the NLLs instead of their mean",
                          _perplexity_of_sum),),
        grad=("nll",),
        grad_at={"nll": [0.5, 1.25, 2.0]},
    ),
    Equation(
        "information.rlhf_kl_penalty",
        inputs=_rlhf_inputs,
        pinned=(Pinned("logits of +-1e4 (no overflow)", {"policy_logits": np.array([[1e4, -1e4, 0.0]]),
                                                         "reference_logits": np.array([[0.0, 0.0, 0.0]]), "beta": 0.1}),
                Pinned("policy = reference shifted (penalty 0)", {"policy_logits": np.array([[1.0, 2.0], [0.5, -1.0]]),
                                                                  "reference_logits": np.array([[4.0, 5.0], [3.5, 2.0]]),
                                                                  "beta": 1.0}),
                Pinned("two contexts", {"policy_logits": np.array([[1.0, 0.0, -1.0], [2.0, 2.0, 0.0]]),
                                        "reference_logits": np.array([[0.0, 0.0, 0.0], [0.0, 1.0, 2.0]]), "beta": 0.5})),
        errors=(ErrorInput("beta < 0", {"policy_logits": np.zeros((1, 2)), "reference_logits": np.zeros((1, 2)),
                                        "beta": -1.0}, ValueError, "beta must be >= 0"),),
        mistakes=(Mistake("sign", "+beta KL: a bonus for moving away from the reference instead of a penalty", _rlhf_sign),
                  Mistake("reverse KL", "KL(pi_ref || pi) instead of KL(pi || pi_ref)", _rlhf_reverse)),
        grad=("policy_logits", "reference_logits"),
        grad_at={"policy_logits": [[0.5, -1.0, 0.25]], "reference_logits": [[0.0, 1.0, -0.5]], "beta": 0.5},
    ),
    Equation(
        "information.cross_entropy_argmin",
        inputs=_gradient_inputs,
        batch_args=("p", "logits"),
        pinned=(Pinned("the page's code logits, target token 0", {"p": np.array([1.0, 0.0, 0.0, 0.0]),
                                                                  "logits": np.array([2.0, 1.5, 0.8, 0.2])}),
                Pinned("logits of +-1e4", {"p": np.array([0.5, 0.5]), "logits": np.array([1e4, -1e4])})),
        mistakes=(Mistake("p - q", "p - softmax(theta): the gradient's sign flipped (that ascends the loss)",
                          _ce_gradient_p_minus_q),),
    ),
    Equation(
        "information.entropy_bits_nats",
        inputs=_entropy_inputs,
        pinned=(Pinned("a fair coin in bits", {"p": np.array([0.5, 0.5]), "base": 2.0}),
                Pinned("a fair coin in nats", {"p": np.array([0.5, 0.5])})),
        mistakes=(Mistake("bits instead of nats", "entropy in the wrong log base (log2, bits, where nats are asked)",
                          _entropy_log2),),
    ),
    Equation(
        "information.mutual_information",
        inputs=_joint_inputs,
        batch_args=("pxy",),
        pinned=(Pinned("X = Y, two fair values (1 bit)", {"pxy": np.array([[0.5, 0.0], [0.0, 0.5]]), "base": 2.0}),
                Pinned("independent", {"pxy": np.outer([0.25, 0.75], [0.5, 0.5])}),
                Pinned("a tiny cell (1e-30)", {"pxy": np.array([[0.5, TINY], [0.25, 0.25]])})),
        errors=_distribution_errors("mutual_information", ("pxy",), joint=True),
        mistakes=(Mistake("arguments swapped", "KL(p(x)p(y) || p(x, y)): the KL arguments swapped", _mi_swapped),
                  Mistake("0 log 0 as NaN", ZERO_LOG_ZERO, _mi_zero_log_zero_nan)),
    ),
    Equation(
        "information.bradley_terry",
        inputs=_bt_inputs,
        batch_args=("r1", "r2"),
        pinned=(Pinned("reward gaps of +-1e4 (saturated)", {"r1": np.array([1e4, -1e4]), "r2": np.array([0.0, 0.0])}),
                Pinned("ties (1/2)", {"r1": np.array([3.0, -2.0]), "r2": np.array([3.0, -2.0])}),
                Pinned("a gap of 1", {"r1": np.array([1.0]), "r2": np.array([0.0])})),
        mistakes=(Mistake("arguments swapped", "sigma(r2 - r1): the probability that response 2 is preferred",
                          _bt_swapped),),
        grad=("r1", "r2"),
        grad_at={"r1": [0.5, -1.0], "r2": [1.5, 0.25]},
    ),
    Equation(
        "information.dpo_loss",
        inputs=_dpo_inputs,
        batch_args=("policy_chosen_logp", "policy_rejected_logp", "reference_chosen_logp", "reference_rejected_logp"),
        pinned=(Pinned("margins of +-1e4 (no overflow)", {"policy_chosen_logp": np.array([0.0, -1e4]),
                                                          "policy_rejected_logp": np.array([-1e4, 0.0]),
                                                          "reference_chosen_logp": np.array([0.0, 0.0]),
                                                          "reference_rejected_logp": np.array([0.0, 0.0]), "beta": 1.0}),
                Pinned("pi = pi_ref (log 2)", {"policy_chosen_logp": np.array([-1.5]), "policy_rejected_logp": np.array([-2.0]),
                                              "reference_chosen_logp": np.array([-1.5]),
                                              "reference_rejected_logp": np.array([-2.0]), "beta": 0.1}),
                Pinned("ordinary log-probabilities", {"policy_chosen_logp": np.array([-1.0, -3.0]),
                                                      "policy_rejected_logp": np.array([-2.0, -1.0]),
                                                      "reference_chosen_logp": np.array([-1.5, -2.0]),
                                                      "reference_rejected_logp": np.array([-1.5, -2.5]), "beta": 0.5})),
        errors=(ErrorInput("beta = 0", {"policy_chosen_logp": np.zeros(1), "policy_rejected_logp": np.zeros(1),
                                        "reference_chosen_logp": np.zeros(1), "reference_rejected_logp": np.zeros(1),
                                        "beta": 0.0}, ValueError, "beta must be > 0"),),
        mistakes=(Mistake("no beta", "the margin without beta", _dpo_no_beta),
                  Mistake("chosen and rejected swapped", "chosen and rejected swapped (the loss rewards the rejected answer)",
                          _dpo_swapped)),
        grad=("policy_chosen_logp", "policy_rejected_logp", "reference_chosen_logp", "reference_rejected_logp"),
        grad_at={"policy_chosen_logp": [-1.0, -2.5], "policy_rejected_logp": [-2.0, -0.5],
                 "reference_chosen_logp": [-1.5, -2.0], "reference_rejected_logp": [-1.0, -1.0], "beta": 0.5},
    ),
    Equation(
        "information.perplexity_chain",
        inputs=_nll_inputs,
        pinned=(Pinned("the page's three tokens (0.5, 1.0, 1.5 nats)", {"nll": np.array([0.5, 1.0, 1.5])}),),
        mistakes=(Mistake("exp of the sum", "perplexity as exp of the SUM of the NLLs instead of their mean",
                          _perplexity_of_sum),),
    ),
    Equation(
        "information.jensen_shannon",
        inputs=_pq_inputs,
        batch_args=("p", "q"),
        pinned=(Pinned("disjoint supports (ln 2)", {"p": np.array([1.0, 0.0]), "q": np.array([0.0, 1.0])}),
                Pinned("tiny masses (1e-30)", {"p": np.array([0.5, 0.5, TINY]), "q": np.array([TINY, 0.5, 0.5])}),
                Pinned("the page's code block p and q_bad, in bits", {"p": PAGE_CODE_P, "q": PAGE_CODE_Q_BAD, "base": 2.0})),
        errors=_distribution_errors("jensen_shannon_divergence", ("p", "q")),
        mistakes=(Mistake("symmetrised KL", "(KL(p || q) + KL(q || p)) / 2, the symmetrised KL, instead of the JSD",
                          _jsd_symmetrised_kl),
                  Mistake("no halves", "KL(p || m) + KL(q || m) without the factors 1/2", _jsd_without_halves),
                  Mistake("0 log 0 as NaN", ZERO_LOG_ZERO, _jsd_zero_log_zero_nan)),
        grad=("p", "q"),
        grad_at={"p": [0.25, 0.5, 0.25], "q": [0.5, 0.25, 0.25]},
    ),
    Equation(
        "information.label_smoothing",
        inputs=_label_smoothing_inputs,
        batch_args=("target",),
        pinned=(Pinned("the page's K = 4, eps = 0.1, page convention", {"target": 0, "num_classes": 4, "epsilon": 0.1}),
                Pinned("eps = 1 (no mass on the target, page convention)", {"target": 1, "num_classes": 3, "epsilon": 1.0}),
                Pinned("eps = 0.1 in torch's convention", {"target": 2, "num_classes": 4, "epsilon": 0.1,
                                                           "convention": "torch"})),
        errors=(ErrorInput("epsilon > 1", {"target": 0, "num_classes": 3, "epsilon": 1.5}, ValueError,
                           "epsilon must be in \\[0, 1\\]"),
                ErrorInput("num_classes = 1", {"target": 0, "num_classes": 1, "epsilon": 0.1}, ValueError,
                           "num_classes must be an integer >= 2"),
                ErrorInput("target out of range", {"target": 3, "num_classes": 3, "epsilon": 0.1}, ValueError,
                           "out of range for num_classes"),
                ErrorInput("unknown convention", {"target": 0, "num_classes": 3, "epsilon": 0.1, "convention": "keras"},
                           ValueError, "convention must be 'page'")),
        mistakes=(Mistake("eps/K off-target in the page convention",
                          "eps/K on the other classes where the page's convention puts eps/(K-1) (the targets no longer "
                          "sum to one)", _label_smoothing_eps_over_k),
                  Mistake("torch's convention for the page's",
                          "torch's convention (1 - eps + eps/K on the target, eps/K elsewhere) where the page's is asked "
                          "(convention='page': 1 - eps on the target, eps/(K-1) on each other class)",
                          _label_smoothing_always("torch")),
                  Mistake("the page's convention for torch's",
                          "the page's convention (1 - eps on the target, eps/(K-1) elsewhere) where torch's is asked "
                          "(convention='torch': 1 - eps + eps/K on the target, eps/K on each other class)",
                          _label_smoothing_always("page"))),
    ),
    Equation(
        "information.kl_nonnegativity",
        inputs=lambda exact=False: _pq_inputs(exact).map(lambda d: {"p": d["p"], "q": d["q"]}),
        pinned=(Pinned("p = q (KL = 0)", {"p": np.array([0.25, 0.75]), "q": np.array([0.25, 0.75])}),),
    ),
)
