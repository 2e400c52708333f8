"""skipgram_log_likelihood whose window includes the centre word itself (j = 0 not skipped)."""

import numpy as np


def skipgram_log_likelihood(E_in, E_out, words, c):
    E_in, E_out = np.asarray(E_in, dtype=np.float64), np.asarray(E_out, dtype=np.float64)
    words = [int(w) for w in words]
    total = 0.0
    for t, w in enumerate(words):
        s = E_out @ E_in[w]
        log_p = s - s.max() - np.log(np.sum(np.exp(s - s.max())))
        for j in range(-c, c + 1):  # the mistake: j = 0 included
            if 0 <= t + j < len(words):
                total += log_p[words[t + j]]
    return total
