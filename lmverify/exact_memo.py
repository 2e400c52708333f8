"""Exact (SymPy) results of the registry's pinned inputs, kept on disk between runs.

``test_pinned_inputs_match_exact`` compares every backend, a student's code included, with the SymPy form's
exact value on the pinned inputs (extremes, ties, the pages' numbers). Those inputs never change between
runs, and their exact values are the slowest part of a student's ``pytest -k lstm --impl my_lstm.py``
(an LSTM unrolled over several steps in exact arithmetic). So the value, once computed by SymPy and rounded
to float64 as every exact result is (:func:`lmverify.convert.to_numpy`), is written to a file, and read
back by later runs instead of being computed again.

What is kept is exactly what would be computed: the file's name is a SHA-256 of

* the code that computes it: every file of ``specs/`` and ``reference/numpy/`` (the SymPy forms and the
  checks they share), ``lmverify/convert.py`` and ``lmverify/backends.py``, and the versions of SymPy,
  mpmath, NumPy and Python: a change to any of them is a new folder, never a stale value;
* the function and the inputs, bit for bit (an array's dtype, shape and bytes; a float's ``float.hex``).

Only plain inputs are kept (arrays, numbers, strings, and lists or tuples of them); anything else (an object
such as a prefix table) is computed every time. Files are written to a temporary name and renamed, read with
``allow_pickle=False``, and a file that cannot be read is computed again and replaced. The folder is
``$LMVERIFY_CACHE`` (else ``$XDG_CACHE_HOME/lmverify``, else ``~/.cache/lmverify``), ``exact-<code key>``;
``LMVERIFY_EXACT_MEMO=0`` turns it off. A student's code never runs in the process that reads or writes it:
it runs in a process of its own, which sees the file system read-only where the machine allows it (Linux
user namespaces: lmverify/students/isolation.py); where it does not, that process could change this folder
as it could change the project's own files, and ``LMVERIFY_EXACT_MEMO=0`` is the safe setting.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

#: the code an exact value depends on (folders: every .py file in them)
SOURCES = (ROOT / "specs", ROOT / "reference" / "numpy", ROOT / "lmverify" / "convert.py",
           ROOT / "lmverify" / "backends.py")

_KEY: list[str] = []


def enabled() -> bool:
    return os.environ.get("LMVERIFY_EXACT_MEMO", "1") != "0"


def cache_root() -> Path:
    """The project's cache folder, the one the n-gram kernels use (reference/_arpa_aot.py)."""
    from reference._arpa_aot import cache_root as root

    return Path(root())


def code_key(sources: tuple[Path, ...] = SOURCES) -> str:
    """SHA-256 (24 hex digits) of the code and library versions an exact value depends on."""
    import mpmath
    import sympy

    h = hashlib.sha256()
    for src in sources:
        files = sorted(src.rglob("*.py")) if src.is_dir() else [src]
        for f in files:
            h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes() + b"\0")
    h.update(f"sympy {sympy.__version__} mpmath {mpmath.__version__} numpy {np.__version__} "
             f"python {sys.version}".encode())
    return h.hexdigest()[:24]


def _key() -> str:
    if not _KEY:
        _KEY.append(code_key())
    return _KEY[0]


class _Unkeyable(Exception):
    pass


def _feed(h: Any, v: Any) -> None:
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "biuf":
            raise _Unkeyable
        h.update(b"A" + v.dtype.str.encode() + repr(v.shape).encode() + np.ascontiguousarray(v).tobytes())
    elif isinstance(v, (bool, np.bool_)):
        h.update(b"B1" if v else b"B0")
    elif isinstance(v, (int, np.integer)):
        h.update(b"I" + str(int(v)).encode())
    elif isinstance(v, (float, np.floating)):
        h.update(b"F" + float(v).hex().encode())
    elif isinstance(v, str):
        h.update(b"S" + str(len(v)).encode() + b":" + v.encode())
    elif v is None:
        h.update(b"N")
    elif isinstance(v, (list, tuple)):
        h.update(b"L" if isinstance(v, list) else b"T")
        h.update(str(len(v)).encode() + b"[")
        for x in v:
            _feed(h, x)
        h.update(b"]")
    else:
        raise _Unkeyable


def input_key(topic: str, name: str, args: tuple, kwargs: dict) -> str | None:
    """SHA-256 of the function and its inputs, or None for inputs that are not plain values."""
    h = hashlib.sha256(f"{topic}.{name}\0".encode())
    try:
        _feed(h, tuple(args))
        for k in sorted(kwargs):
            h.update(k.encode() + b"=")
            _feed(h, kwargs[k])
    except _Unkeyable:
        return None
    return h.hexdigest()


def _pack(result: Any) -> dict[str, np.ndarray] | None:
    """The arrays of a result (one array, a number, or a flat tuple of them), or None for anything else."""
    parts = result if isinstance(result, tuple) else (result,)
    out: dict[str, np.ndarray] = {"shape": np.array([len(parts) if isinstance(result, tuple) else -1])}
    for i, p in enumerate(parts):
        if isinstance(p, np.ndarray) and p.dtype.kind in "bf":
            out[f"r{i}"], out[f"s{i}"] = p, np.array([0])
        elif isinstance(p, (np.floating, np.bool_)):
            out[f"r{i}"], out[f"s{i}"] = np.asarray(p), np.array([1])
        else:
            return None
    return out


def _unpack(data: Any) -> Any:
    n = int(data["shape"][0])
    parts = []
    for i in range(max(n, 1)):
        a = data[f"r{i}"]
        parts.append(a[()] if int(data[f"s{i}"][0]) == 1 else a)
    return tuple(parts) if n >= 0 else parts[0]


def computed(topic: str, name: str, args: tuple, kwargs: dict, compute: Callable[[], Any]) -> Any:
    """``compute()`` (the exact value rounded to float64), read from the cache where it was kept before."""
    if not enabled():
        return compute()
    key = input_key(topic, name, args, kwargs)
    if key is None:
        return compute()
    folder = cache_root() / f"exact-{_key()}" / f"{topic}.{name}"
    path = folder / f"{key}.npz"
    try:
        with np.load(path, allow_pickle=False) as data:
            return _unpack(data)
    except FileNotFoundError:
        pass  # not kept yet
    except Exception:  # noqa: BLE001 - a file that cannot be read (damaged zip, wrong arrays): computed again
        pass  # (and replaced below); never an error of the student's run
    result = compute()
    packed = _pack(result)
    if packed is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    np.savez(f, **packed)
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError:
            pass  # a read-only or full cache folder: the value is simply not kept
    return result
