"""A student's RLHF KL term under the reference policy: KL(pi_ref || pi)."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.rlhf_kl_penalty', 'reverse KL')]


def _log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def rlhf_kl_penalty(policy_logits, reference_logits, beta):
    log_pi, log_ref = _log_softmax(policy_logits), _log_softmax(reference_logits)
    kl = np.sum(np.exp(log_ref) * (log_ref - log_pi), axis=-1)  # wrong: KL(pi || pi_ref)
    return -beta * np.mean(kl)
