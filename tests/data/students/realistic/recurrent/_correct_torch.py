"""A correct student module for the recurrent functions of the realistic mistakes, written with PyTorch (float64
tensors, torch.sigmoid / torch.tanh, explicit loops over time) rather than as the NumPy reference is: no hint
may fire on it."""

import torch


def _t(a):
    return torch.as_tensor(a, dtype=torch.float64)


def _b(b):
    return 0.0 if b is None else _t(b)


def rnn_cell(x, h_prev, W_hh, W_xh, b):
    return torch.tanh(_t(h_prev) @ _t(W_hh).T + _t(x) @ _t(W_xh).T + _t(b))


def rnn_forward(xs, h0, W_hh, W_xh, b):
    xs, h = _t(xs), _t(h0)
    out = []
    for t in range(xs.shape[-2]):
        h = rnn_cell(xs[..., t, :], h, W_hh, W_xh, b)
        out.append(h)
    return torch.stack(out, dim=-2)


def bidirectional_concat(hs_forward, hs_backward):
    f, bwd = _t(hs_forward), _t(hs_backward)
    T = f.shape[-2]
    rows = [torch.cat([f[..., t, :], bwd[..., T - 1 - t, :]], dim=-1) for t in range(T)]
    return torch.stack(rows, dim=-2)


def lstm_cell(x, h_prev, c_prev, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    hx = torch.cat([_t(h_prev), _t(x)], dim=-1)
    f = torch.sigmoid(hx @ _t(W_f).T + _t(b_f))
    i = torch.sigmoid(hx @ _t(W_i).T + _t(b_i))
    g = torch.tanh(hx @ _t(W_c).T + _t(b_c))
    o = torch.sigmoid(hx @ _t(W_o).T + _t(b_o))
    c = f * _t(c_prev) + i * g
    return o * torch.tanh(c), c


def lstm_forward(xs, h0, c0, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o):
    xs, h, c = _t(xs), _t(h0), _t(c0)
    hs, cs = [], []
    for t in range(xs.shape[-2]):
        h, c = lstm_cell(xs[..., t, :], h, c, W_f, W_i, W_c, W_o, b_f, b_i, b_c, b_o)
        hs.append(h)
        cs.append(c)
    return torch.stack(hs, dim=-2), torch.stack(cs, dim=-2)


def gru_forward(xs, h0, W_z, W_r, W, b_z=None, b_r=None, b=None):
    xs, h = _t(xs), _t(h0)
    hs = []
    for t in range(xs.shape[-2]):
        x = xs[..., t, :]
        hx = torch.cat([h, x], dim=-1)
        z = torch.sigmoid(hx @ _t(W_z).T + _b(b_z))
        r = torch.sigmoid(hx @ _t(W_r).T + _b(b_r))
        h_tilde = torch.tanh(torch.cat([r * h, x], dim=-1) @ _t(W).T + _b(b))
        h = (1 - z) * h + z * h_tilde
        hs.append(h)
    return torch.stack(hs, dim=-2)


def sequence_loss(logits, targets, ignore_index=None):
    z = _t(logits).reshape(-1, _t(logits).shape[-1])
    t = torch.as_tensor(targets).reshape(-1).long()
    keep = torch.ones_like(t, dtype=torch.bool) if ignore_index is None else t != ignore_index
    return torch.nn.functional.cross_entropy(z[keep], t[keep], reduction="mean")
