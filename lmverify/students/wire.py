"""What crosses between the suite's process and a student's process: values as plain data, read back safely.

The student's process is not trusted: anything it sends may have been forged by the student's code (which
can replace every function of that process). So nothing it sends is unpickled with classes: a value travels
as a tree of Python's builtin types (None, bool, int, float, complex as a tagged pair, str, bytes, tuple, list,
dict) in which arrays and tensors are tagged tuples of (dtype, shape, raw bytes), and the suite reads it with
an unpickler that refuses every global (:func:`loads_untrusted`), then rebuilds arrays only of numeric, bool
or string dtypes. The suite's own messages to the student's process are pickled as usual.

Frames: an 8-byte little-endian length, then the payload; both directions have a deadline, so a process that
sends half a frame and stops cannot hang the suite.
"""

from __future__ import annotations

import io
import pickle
import socket
import struct
import sys
import time
from collections import Counter, OrderedDict, defaultdict
from typing import Any

import numpy as np

#: the largest frame the suite reads from a student's process (a result larger than this is refused by name)
MAX_FRAME = 1 << 30

_HEADER = struct.Struct("<Q")


class WireError(Exception):
    """A frame could not be read or written (the other side closed, stalled, or sent something malformed)."""


class PeerClosed(WireError):
    """The other side closed the connection (its process ended)."""


class PeerStalled(WireError):
    """The deadline passed before a whole frame arrived."""


def send_frame(sock: socket.socket, payload: bytes, deadline: float | None = None) -> None:
    _sendall(sock, _HEADER.pack(len(payload)) + payload, deadline)


def _sendall(sock: socket.socket, data: bytes, deadline: float | None) -> None:
    view = memoryview(data)
    while view:
        sock.settimeout(None if deadline is None else max(deadline - time.monotonic(), 1e-3))
        try:
            n = sock.send(view)
        except socket.timeout:
            raise PeerStalled("the student's process did not read what the suite sent") from None
        except (BrokenPipeError, ConnectionResetError):
            raise PeerClosed("the student's process closed the connection") from None
        view = view[n:]


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        sock.settimeout(None if deadline is None else max(deadline - time.monotonic(), 1e-3))
        try:
            chunk = sock.recv(min(n - got, 1 << 20))
        except socket.timeout:
            raise PeerStalled("no answer from the student's process within the time limit") from None
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise PeerClosed("the student's process closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket, deadline: float | None = None, limit: int = MAX_FRAME) -> bytes:
    (n,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size, deadline))
    if n > limit:
        raise WireError(f"the student's process sent {n} bytes at once (more than the {limit}-byte limit)")
    return _recv_exact(sock, n, deadline)


# -- values as plain data ---------------------------------------------------------------------------------

_ND, _TORCH, _NPSCALAR, _COMPLEX, _DICT, _SET, _FROZENSET, _COUNTER, _DEFAULTDICT, _ODICT, _NDOBJ, _TUPLE = (
    "__nd__", "__torch__", "__npscalar__", "__complex__", "__dict__", "__set__", "__frozenset__", "__counter__",
    "__defaultdict__", "__odict__", "__ndobj__", "__tuple__")
_DEFAULT_FACTORIES = {"int": int, "float": float, "list": list, "dict": dict, "set": set}
#: dtype kinds rebuilt from raw bytes: bool, signed, unsigned, float, complex, str (unicode, bytes)
_KINDS = set("biufcUS")


class Unencodable(TypeError):
    """A value of a type that does not travel (the message names the type)."""


def encode(x: Any, _depth: int = 0) -> Any:
    """``x`` as plain data (see the module docstring); raises :class:`Unencodable` naming a foreign type."""
    if _depth > 64:
        raise Unencodable("a value nested more than 64 levels deep")
    if x is None or isinstance(x, (bool, int, float, str, bytes)) and type(x) in (bool, int, float, str, bytes):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.kind in _KINDS and x.dtype.fields is None:
            a = x if x.flags.c_contiguous else x.copy(order="C")  # (ascontiguousarray makes 0-d 1-d)
            return (_ND, a.dtype.str, tuple(int(s) for s in a.shape), a.tobytes())
        if x.dtype.kind == "O":
            return (_NDOBJ, tuple(int(s) for s in x.shape), [encode(v, _depth + 1) for v in x.ravel().tolist()])
        raise Unencodable(f"a NumPy array of dtype {x.dtype}")
    if isinstance(x, np.generic):
        if x.dtype.kind in _KINDS:
            return (_NPSCALAR, x.dtype.str, x.tobytes())
        raise Unencodable(f"a NumPy scalar of dtype {x.dtype}")
    torch = sys.modules.get("torch")  # a tensor exists only where torch is imported (never import it here)
    if torch is not None and isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        name = str(t.dtype).replace("torch.", "")
        if t.dtype in (torch.bfloat16, torch.float16):
            t = t.to(torch.float32)
        return (_TORCH, name, encode(t.resolve_conj().resolve_neg().numpy(), _depth + 1))
    if isinstance(x, complex):
        return (_COMPLEX, float(x.real), float(x.imag))
    if isinstance(x, (bool, int, float, str, bytes)):  # subclasses (an IntEnum, a str subclass) as the base type
        for base in (bool, int, float, str, bytes):
            if isinstance(x, base):
                return base(x)
    if isinstance(x, tuple):
        if x and type(x[0]) is str and x[0].startswith("__"):  # a tuple that could be read as a tag
            return (_TUPLE, [encode(v, _depth + 1) for v in x])
        return tuple(encode(v, _depth + 1) for v in x)
    if isinstance(x, list):
        return [encode(v, _depth + 1) for v in x]
    if isinstance(x, dict):
        items = [(encode(k, _depth + 1), encode(v, _depth + 1)) for k, v in x.items()]
        if isinstance(x, Counter):
            return (_COUNTER, items)
        if isinstance(x, defaultdict):
            factory = getattr(x.default_factory, "__name__", None)
            if x.default_factory is None or factory in _DEFAULT_FACTORIES and x.default_factory is _DEFAULT_FACTORIES[factory]:
                return (_DEFAULTDICT, factory, items)
            raise Unencodable(f"a defaultdict whose default is {factory or x.default_factory!r}")
        if isinstance(x, OrderedDict):
            return (_ODICT, items)
        return (_DICT, items)
    if isinstance(x, (set, frozenset)):
        return (_FROZENSET if isinstance(x, frozenset) else _SET, [encode(v, _depth + 1) for v in x])
    if isinstance(x, range):
        return [encode(v, _depth + 1) for v in x]
    raise Unencodable(f"{type(x).__module__}.{type(x).__qualname__}")


def decode(x: Any, _depth: int = 0) -> Any:
    """The value that :func:`encode` made (in the suite's process: checks every tag and dtype)."""
    if _depth > 66:
        raise WireError("a value nested too deep")
    if x is None or type(x) in (bool, int, float, str, bytes):
        return x
    if type(x) is list:
        return [decode(v, _depth + 1) for v in x]
    if type(x) is not tuple:
        raise WireError(f"unexpected {type(x).__name__} in a value from the student's process")
    if x and type(x[0]) is str and x[0].startswith("__") and x[0].endswith("__"):
        tag = x[0]
        if tag == _ND and len(x) == 4:
            return _array(x[1], x[2], x[3])
        if tag == _NPSCALAR and len(x) == 3:
            return _array(x[1], (), x[2])[()]
        if tag == _NDOBJ and len(x) == 3 and _shape(x[1]) is not None and type(x[2]) is list:
            out = np.empty(len(x[2]), dtype=object)
            for i, v in enumerate(x[2]):
                out[i] = decode(v, _depth + 1)
            return out.reshape(_shape(x[1]))
        if tag == _TORCH and len(x) == 3 and type(x[1]) is str:
            import torch

            dtype = getattr(torch, x[1], None)
            if not isinstance(dtype, torch.dtype):
                raise WireError(f"unknown tensor dtype {x[1]!r} from the student's process")
            arr = decode(x[2], _depth + 1)
            if not isinstance(arr, np.ndarray):
                raise WireError("a tensor without its array from the student's process")
            return torch.from_numpy(np.array(arr)).to(dtype)
        if tag == _COMPLEX and len(x) == 3 and all(type(v) is float for v in x[1:]):
            return complex(x[1], x[2])
        if tag in (_DICT, _COUNTER, _ODICT, _DEFAULTDICT):
            items = x[-1]
            if type(items) is not list or not all(type(i) is tuple and len(i) == 2 for i in items):
                raise WireError("a malformed dict from the student's process")
            pairs = [(decode(k, _depth + 1), decode(v, _depth + 1)) for k, v in items]
            if tag == _COUNTER:
                return Counter(dict(pairs))
            if tag == _ODICT:
                return OrderedDict(pairs)
            if tag == _DEFAULTDICT:
                if len(x) != 3 or not (x[1] is None or x[1] in _DEFAULT_FACTORIES):
                    raise WireError("a malformed defaultdict from the student's process")
                return defaultdict(None if x[1] is None else _DEFAULT_FACTORIES[x[1]], pairs)
            return dict(pairs)
        if tag == _TUPLE and len(x) == 2 and type(x[1]) is list:
            return tuple(decode(v, _depth + 1) for v in x[1])
        if tag in (_SET, _FROZENSET) and len(x) == 2 and type(x[1]) is list:
            values = [decode(v, _depth + 1) for v in x[1]]
            return frozenset(values) if tag == _FROZENSET else set(values)
    return tuple(decode(v, _depth + 1) for v in x)


def _shape(s: Any) -> tuple[int, ...] | None:
    if type(s) is tuple and len(s) <= 32 and all(type(n) is int and n >= 0 for n in s):
        return s
    return None


def _array(dtype: Any, shape: Any, raw: Any) -> np.ndarray:
    if type(dtype) is not str or len(dtype) > 16 or _shape(shape) is None or type(raw) is not bytes:
        raise WireError("a malformed array from the student's process")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise WireError(f"an array of unknown dtype {dtype!r} from the student's process") from None
    if dt.kind not in _KINDS or dt.fields is not None or dt.subdtype is not None:
        raise WireError(f"an array of dtype {dt} from the student's process (only numbers, bools and strings travel)")
    n = 1
    for s in shape:
        n *= s
    if n * dt.itemsize != len(raw):
        raise WireError(f"an array of shape {shape} and dtype {dt} with {len(raw)} bytes from the student's process")
    return np.frombuffer(raw, dtype=dt).reshape(shape).copy()


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ANN201
        raise WireError(f"the student's process sent a {module}.{name} object (only plain data is accepted)")


def loads_untrusted(data: bytes) -> Any:
    """Unpickle ``data`` allowing builtin containers and scalars only (no class, no function is looked up)."""
    try:
        return _NoGlobals(io.BytesIO(data)).load()
    except WireError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed pickle is the student's process's doing
        raise WireError(f"a malformed message from the student's process ({type(exc).__name__}: {exc})") from None


def dumps_plain(x: Any) -> bytes:
    return pickle.dumps(x, protocol=pickle.HIGHEST_PROTOCOL)
