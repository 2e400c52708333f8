"""beam_search that ranks hypotheses by the plain sum of log-probabilities, ignoring alpha (no length
normalisation s / L^alpha)."""

import numpy as np


def beam_search(step, steps, beam_width, eos=None, alpha=0.0):
    beam = [((), 0.0)]
    for _ in range(int(steps)):
        candidates = []
        for prefix, s in beam:
            if eos is not None and prefix and prefix[-1] == eos:
                candidates.append((prefix, s))
                continue
            lp = np.asarray(step(prefix), dtype=np.float64)
            for y in range(lp.size):
                candidates.append((prefix + (y,), s + lp[y]))
        order = sorted(range(len(candidates)), key=lambda n: -candidates[n][1])  # the mistake: no / L**alpha
        beam = [candidates[n] for n in order[: int(beam_width)]]
    best = beam[0]
    return np.asarray(best[0], dtype=np.float64), np.float64(best[1])
