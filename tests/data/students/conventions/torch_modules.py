"""Class-based recurrent cells as PyTorch assignments write them (the suite's own test data): an nn.Module
with one nn.Linear per gate acting on [h; x] and a dropout the suite must turn off, and a fused PyTorch-layout
LSTM cell (weight_ih (4 d_h, d_x), weight_hh (4 d_h, d_h), two biases, gates in the order i, f, g, o) whose
forward takes (x, (h, c)) with x of shape (N, D)."""

import torch
from torch import nn

LMVERIFY = {
    "lstm_cell": dict(use="GateLSTMCell", array="torch", batch="required",
                      init={"input_size": "x.shape[-1]", "hidden_size": "h_prev.shape[-1]"},
                      set={"forget.weight": "W_f", "forget.bias": "b_f", "input.weight": "W_i",
                           "input.bias": "b_i", "candidate.weight": "W_c", "candidate.bias": "b_c",
                           "output.weight": "W_o", "output.bias": "b_o"},
                      params={"h_prev": "h", "c_prev": "c"}),
    "gru_cell": dict(use="PageGRU", array="torch", init={"d_x": "x.shape[-1]", "d_h": "h_prev.shape[-1]"},
                     set={"W_z": "W_z", "W_r": "W_r", "W": "W", "b_z": "b_z", "b_r": "b_r", "b": "b"},
                     params={"h_prev": "h"}),
}


class GateLSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size, dropout=0.5):
        super().__init__()
        n = input_size + hidden_size
        self.forget, self.input = nn.Linear(n, hidden_size), nn.Linear(n, hidden_size)
        self.candidate, self.output = nn.Linear(n, hidden_size), nn.Linear(n, hidden_size)
        self.drop = nn.Dropout(dropout)

    def forward(self, x, h, c):
        hx = self.drop(torch.cat([h, x], dim=-1))
        f = torch.sigmoid(self.forget(hx))
        i = torch.sigmoid(self.input(hx))
        g = torch.tanh(self.candidate(hx))
        o = torch.sigmoid(self.output(hx))
        c = f * c + i * g
        return o * torch.tanh(c), c


class PageGRU(nn.Module):
    """The page's GRU with its weights as plain parameters (bias optional: zeros when the suite passes none)."""

    def __init__(self, d_x, d_h):
        super().__init__()
        self.W_z = nn.Parameter(torch.zeros(d_h, d_h + d_x))
        self.W_r = nn.Parameter(torch.zeros(d_h, d_h + d_x))
        self.W = nn.Parameter(torch.zeros(d_h, d_h + d_x))
        self.b_z, self.b_r, self.b = (nn.Parameter(torch.zeros(d_h)) for _ in range(3))

    def forward(self, x, h):
        z = torch.sigmoid(torch.cat([h, x], -1) @ self.W_z.T + self.b_z)
        r = torch.sigmoid(torch.cat([h, x], -1) @ self.W_r.T + self.b_r)
        h_tilde = torch.tanh(torch.cat([r * h, x], -1) @ self.W.T + self.b)
        return (1 - z) * h + z * h_tilde


class TorchLayoutLSTMCell(nn.Module):
    """PyTorch's own layout, written out: weight_ih (4 d_h, d_x), weight_hh (4 d_h, d_h), bias_ih and bias_hh,
    gates stacked i, f, g, o; forward(x, (h, c)) -> (h', c')."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size).uniform_(-0.1, 0.1))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size).uniform_(-0.1, 0.1))
        self.bias_ih = nn.Parameter(torch.zeros(4 * hidden_size))
        self.bias_hh = nn.Parameter(torch.zeros(4 * hidden_size))

    def forward(self, x, state):
        h, c = state
        gates = x @ self.weight_ih.T + self.bias_ih + h @ self.weight_hh.T + self.bias_hh
        i, f, g, o = gates.chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c


LMVERIFY["lstm_forward"] = dict(use="TorchLayoutLSTM", array="torch", gates="ifgo", batch="one",
                                init={"input_size": "xs.shape[-1]", "hidden_size": "h0.shape[-1]"},
                                set={"cell.weight_ih": "W_x", "cell.weight_hh": "W_h", "cell.bias_ih": "b",
                                     "cell.bias_hh": "b_h"},
                                params=["xs", ("h0", "c0")])


class TorchLayoutLSTM(nn.Module):
    """The cell above unrolled over (N, T, D) -> (hs, cs), each (N, T, d_h)."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.cell = TorchLayoutLSTMCell(input_size, hidden_size)

    def forward(self, xs, state):
        h, c = state
        hs, cs = [], []
        for t in range(xs.shape[1]):
            h, c = self.cell(xs[:, t], (h, c))
            hs.append(h)
            cs.append(c)
        return torch.stack(hs, 1), torch.stack(cs, 1)
