"""Conversion between NumPy, PyTorch and SymPy values: the only place it happens.

* NumPy float64 arrays are the lingua franca: strategies draw them, failure
  messages print them, golden files store them.
* :func:`to_torch` makes a tensor of the requested dtype.
* :func:`to_sympy` converts *exactly*: a binary float becomes the Rational it
  denotes (0.1 -> 3602879701896397/36028797018963968), so the SymPy backend
  computes the exact value of the formula on the very numbers the other
  backends received. A 2-D array becomes a ``sympy.Matrix`` (so ``*`` and
  ``.T`` are matrix product and transpose), any other rank an immutable
  ``sympy.Array``; a 0-d array a number.
* :func:`to_numpy` brings anything back: tensors (detached, on CPU), SymPy
  matrices/arrays/expressions (evaluated to 50 digits, then rounded to the
  nearest float64), nested lists, tuples of results.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sympy as sp

try:  # torch is a hard dependency, but keep the error readable if it is missing
    import torch
except ImportError:  # pragma: no cover
    torch = None  # type: ignore[assignment]

#: digits used when a symbolic result is evaluated numerically
SYMPY_DIGITS = 50

TORCH_DTYPES = {"float64": "float64", "float32": "float32"}


def _exact(x: float) -> sp.Expr:
    if np.isnan(x):
        return sp.nan
    if np.isinf(x):
        return sp.oo if x > 0 else -sp.oo
    return sp.Rational(float(x))


def to_sympy(x: Any) -> Any:
    """Exact SymPy form of a number or array (floats become exact Rationals)."""
    if isinstance(x, (sp.Basic, sp.MatrixBase, sp.NDimArray)):
        return x
    if torch is not None and isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype == bool:
        if arr.ndim == 0:
            return bool(arr)
        return arr  # masks stay boolean arrays; SymPy forms index them
    if arr.dtype.kind in "iu":
        conv = lambda v: sp.Integer(int(v))  # noqa: E731
    elif arr.dtype.kind == "f":
        conv = _exact
    else:
        raise TypeError(f"to_sympy: cannot convert array of dtype {arr.dtype} to SymPy")
    if arr.ndim == 0:
        return conv(arr.item())
    if arr.ndim == 2:
        return sp.Matrix(arr.shape[0], arr.shape[1], [conv(v) for v in arr.ravel()])
    return sp.ImmutableDenseNDimArray([conv(v) for v in arr.ravel()], arr.shape)


def _sympy_to_float(v: Any) -> float:
    v = sp.sympify(v)
    if v is sp.nan:
        return float("nan")
    if v == sp.oo:
        return float("inf")
    if v == -sp.oo:
        return float("-inf")
    if v == sp.zoo:
        return float("nan")
    return float(sp.N(v, SYMPY_DIGITS))


def to_numpy(x: Any) -> Any:
    """Float64 NumPy form of a backend result. Tuples/lists of results map elementwise."""
    if isinstance(x, tuple):
        return tuple(to_numpy(v) for v in x)
    if isinstance(x, dict):
        return {k: to_numpy(v) for k, v in x.items()}
    if torch is not None and isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        if t.dtype == torch.bool:
            return t.numpy()
        return t.to(torch.float64).numpy()
    if isinstance(x, sp.MatrixBase):
        return np.array([[_sympy_to_float(v) for v in row] for row in x.tolist()], dtype=np.float64).reshape(x.shape)
    if isinstance(x, sp.NDimArray):
        flat = [_sympy_to_float(v) for v in sp.flatten(x.tolist())] if x.rank() > 0 else [_sympy_to_float(x[()])]
        return np.array(flat, dtype=np.float64).reshape(x.shape)
    if isinstance(x, sp.Basic):
        return np.float64(_sympy_to_float(x))
    if isinstance(x, list):
        if x and any(isinstance(v, (sp.Basic, sp.MatrixBase, sp.NDimArray)) for v in np.ravel(np.array(x, dtype=object))):
            return np.array([_sympy_to_float(v) for v in np.ravel(np.array(x, dtype=object))]).reshape(np.shape(np.array(x, dtype=object)))
        return np.asarray(x, dtype=np.float64)
    if isinstance(x, np.ndarray):
        if x.dtype == bool:
            return x
        if x.dtype == object:
            return np.array([_sympy_to_float(v) for v in x.ravel()], dtype=np.float64).reshape(x.shape)
        return x.astype(np.float64)
    if isinstance(x, (bool, np.bool_)):
        return np.bool_(x)
    if isinstance(x, (int, float, np.integer, np.floating)):
        return np.float64(x)
    raise TypeError(f"to_numpy: cannot convert {type(x).__name__} to a NumPy array")


def to_torch(x: Any, dtype: str = "float64", keep_integers: bool = False) -> Any:
    """A tensor of ``dtype`` ('float64' or 'float32'); booleans stay boolean. With ``keep_integers`` an integer
    array (token ids, targets, counts) stays an integer tensor (int64), as a NumPy student receives it and as
    ``F.cross_entropy`` and ``nn.Embedding`` need it (what a student's torch code receives)."""
    if dtype not in TORCH_DTYPES:
        raise ValueError(f"to_torch: dtype must be one of {sorted(TORCH_DTYPES)}, got {dtype!r}")
    if isinstance(x, torch.Tensor):
        return x if x.dtype == torch.bool else x.to(getattr(torch, dtype))
    arr = np.asarray(x)
    if arr.dtype == bool:
        return torch.from_numpy(arr.copy())
    if arr.dtype.kind in "iu" and arr.ndim == 0:
        return int(arr)
    if keep_integers and arr.dtype.kind in "iu":
        return torch.from_numpy(arr.astype(np.int64))
    return torch.tensor(arr, dtype=getattr(torch, dtype))


def to_numpy_input(x: Any) -> Any:
    """What a NumPy backend receives: float64 arrays (booleans stay boolean)."""
    arr = np.asarray(x)
    if arr.dtype == bool or arr.dtype.kind in "iu":
        return arr
    return arr.astype(np.float64)


def object_array_to_sympy(arr: np.ndarray) -> Any:
    """An object array of SymPy expressions (e.g. symbols) in the same container :func:`to_sympy` makes."""
    if arr.ndim == 0:
        return arr.item()
    if arr.ndim == 2:
        return sp.Matrix(arr.shape[0], arr.shape[1], list(arr.ravel()))
    return sp.ImmutableDenseNDimArray(list(arr.ravel()), arr.shape)


def sympy_to_object_array(x: Any) -> np.ndarray:
    """A SymPy result (matrix, array, expression) as an object array of expressions, without evaluating."""
    if isinstance(x, sp.MatrixBase):
        return np.array(x.tolist(), dtype=object).reshape(x.shape)
    if isinstance(x, sp.NDimArray):
        return np.array(sp.flatten(x.tolist()) if x.rank() > 0 else [x[()]], dtype=object).reshape(x.shape)
    if isinstance(x, (list, tuple)):
        return np.array(x, dtype=object)
    return np.array(sp.sympify(x), dtype=object)
