"""A student's RLHF KL term with a plus sign (a bonus for drifting)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.rlhf_kl_penalty', 'sign')]


def _log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def rlhf_kl_penalty(policy_logits, reference_logits, beta):
    log_pi, log_ref = _log_softmax(policy_logits), _log_softmax(reference_logits)
    kl = np.sum(np.exp(log_pi) * (log_pi - log_ref), axis=-1)
    return beta * np.mean(kl)  # wrong: the objective subtracts beta * KL
