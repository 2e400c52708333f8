"""Helpers shared by the PyTorch forms (not equations of the course: no catalogue entry)."""

from __future__ import annotations

import functools

import numpy as np
import torch


def _as_tensor(x, fn: str, name: str):
    # torch.from_numpy keeps the dtype (float64 stays float64); a non-writeable or
    # non-native-endian array is copied first, which from_numpy needs
    if isinstance(x, np.ndarray):
        if x.dtype.kind == "O":
            return x  # token lists, sentences: the function reads them itself
        if x.dtype.kind not in "biufc":
            raise TypeError(f"{fn}: {name} must hold numbers, got a NumPy array of dtype {x.dtype}")
        return torch.from_numpy(np.array(x, dtype=x.dtype.newbyteorder("=")))
    return x


def accepts_numpy(fn):
    """Every PyTorch form takes NumPy arrays as well as tensors: each ``np.ndarray`` argument (positional
    or keyword) becomes a tensor of the same dtype before the call, so an operation that means one thing
    for tensors and another for arrays (``x.transpose(-2, -1)`` is the identity on a 2-D array) is never
    applied to an array. An array of strings (or another non-number dtype) is a TypeError naming the
    function and the argument; object arrays and other arguments pass unchanged."""

    names = fn.__code__.co_varnames[:fn.__code__.co_argcount]

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        args = tuple(_as_tensor(a, fn.__name__, names[i] if i < len(names) else f"argument {i + 1}")
                     for i, a in enumerate(args))
        kwargs = {k: _as_tensor(v, fn.__name__, k) for k, v in kwargs.items()}
        return fn(*args, **kwargs)

    return wrapper
