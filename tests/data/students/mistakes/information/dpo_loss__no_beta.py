"""A student's DPO loss without beta."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('information.dpo_loss', 'no beta')]


def dpo_loss(policy_chosen_logp, policy_rejected_logp, reference_chosen_logp, reference_rejected_logp, beta):
    chosen = np.asarray(policy_chosen_logp) - reference_chosen_logp
    rejected = np.asarray(policy_rejected_logp) - reference_rejected_logp
    z = chosen - rejected  # wrong: beta forgotten
    return np.logaddexp(0.0, -z)
