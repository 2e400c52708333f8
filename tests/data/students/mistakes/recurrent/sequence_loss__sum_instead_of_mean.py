"""A student's sequence loss that sums -log P over the positions."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.sequence_loss', 'sum instead of mean')]


def sequence_loss(logits, targets, ignore_index=None):
    """-(1/T) sum_t log softmax(logits_t)[w_t] over the positions whose target is not ignore_index."""
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets).astype(np.int64)
    m = z.max(axis=-1, keepdims=True)
    log_p = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_p, np.clip(t, 0, z.shape[-1] - 1)[..., None], axis=-1)[..., 0]
    keep = np.ones(t.shape, dtype=bool) if ignore_index is None else t != ignore_index
    return np.sum(np.where(keep, nll, 0.0))  # wrong: divide by the number of positions T
