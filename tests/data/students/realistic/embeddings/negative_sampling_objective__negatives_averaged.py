"""negative_sampling_objective that averages the k negatives' terms instead of summing them."""

import numpy as np


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def negative_sampling_objective(v_I, v_O, V_neg):
    v_I, v_O, V_neg = (np.asarray(a, dtype=np.float64) for a in (v_I, v_O, V_neg))
    return float(_log_sigmoid(v_O @ v_I) + np.mean(_log_sigmoid(-(V_neg @ v_I))))  # the mistake: mean
