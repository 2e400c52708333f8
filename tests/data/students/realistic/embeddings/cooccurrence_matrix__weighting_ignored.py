"""cooccurrence_matrix that always counts 1 per pair, whatever weighting it is given (GloVe's 'harmonic' is
1/distance)."""

import numpy as np


def cooccurrence_matrix(sentences, V, window, weighting="count"):
    X = np.zeros((int(V), int(V)))
    for s in sentences:
        s = [int(w) for w in s]
        for t in range(len(s)):
            for k in range(max(0, t - window), min(len(s), t + window + 1)):
                if k != t:
                    X[s[t], s[k]] += 1.0  # the mistake: weighting ignored
    return X
