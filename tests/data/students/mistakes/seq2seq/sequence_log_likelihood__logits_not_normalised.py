"""A student's sequence log-likelihood that sums the raw logits of the targets."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('seq2seq.teacher_forcing_loss', 'logits not normalised')]


def sequence_log_likelihood(logits, targets):
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets).astype(np.int64)
    picked = np.take_along_axis(z, t[..., None], axis=-1)[..., 0]  # wrong: log softmax(z)[y], not z[y]
    return np.sum(picked, axis=-1)
