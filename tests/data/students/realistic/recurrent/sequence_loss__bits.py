"""sequence_loss reported in bits: the mean of -log2 P(w_t | w_<t) (the page's loss is in nats, natural log)."""

import numpy as np


def sequence_loss(logits, targets, ignore_index=None):
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets).astype(np.int64)
    m = z.max(axis=-1, keepdims=True)
    log_p = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    log2_p = log_p / np.log(2.0)  # the mistake: converted to bits
    keep = np.ones(t.shape, dtype=bool) if ignore_index is None else t != ignore_index
    picked = np.take_along_axis(log2_p, np.clip(t, 0, z.shape[-1] - 1)[..., None], axis=-1)[..., 0]
    return -np.sum(np.where(keep, picked, 0.0)) / keep.sum()
