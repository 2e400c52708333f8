"""A plain-Python class RNN (the suite's own test data): sizes in the constructor, weights as attributes
(Wxh (H, D), Whh (H, H), bh (H,)), and a `step` method that takes one input vector (unbatched) and updates
its own hidden state; plus a skip-gram softmax over one centre vector at a time."""

import numpy as np

LMVERIFY = {
    "rnn_cell": dict(use="VanillaRNN", init={"input_size": "x.shape[-1]", "hidden_size": "h_prev.shape[-1]"},
                     set={"Wxh": "W_xh", "Whh": "W_hh", "bh": "b"}, method="step", params={"h_prev": "h"},
                     batch="none"),
    "skipgram_softmax": dict(use="predict", params=["E_out", "v_I"], batch="none"),
}


class VanillaRNN:
    def __init__(self, input_size, hidden_size):
        self.Wxh = np.random.randn(hidden_size, input_size) * 0.01
        self.Whh = np.random.randn(hidden_size, hidden_size) * 0.01
        self.bh = np.zeros(hidden_size)

    def step(self, x, h):
        assert x.ndim == 1, "one input vector at a time"
        self.h = np.tanh(self.Wxh @ x + self.Whh @ h + self.bh)
        return self.h


def predict(output_vectors, centre):
    assert centre.ndim == 1
    s = output_vectors @ centre
    e = np.exp(s - s.max())
    return e / e.sum()
