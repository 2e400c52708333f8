"""teacher_forcing_logits that feeds the model's own prediction argmax(logits_{t-1}) at each step instead of the
true previous token y_{t-1} (that is free running, not teacher forcing)."""

import numpy as np


def teacher_forcing_logits(targets, h0, E, W_hh, W_xh, b, W_out, b_out, bos=0):
    E, W_out = np.asarray(E, dtype=np.float64), np.asarray(W_out, dtype=np.float64)
    h = np.asarray(h0, dtype=np.float64)
    y = int(bos)
    out = []
    for _ in range(len(np.asarray(targets))):
        h = np.tanh(h @ np.asarray(W_hh).T + E[y] @ np.asarray(W_xh).T + b)
        z = h @ W_out.T + b_out
        out.append(z)
        y = int(np.argmax(z))  # the mistake: the prediction, not targets[t]
    return np.stack(out)
