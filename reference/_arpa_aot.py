"""The n-gram kernels of reference/_arpa_jit.py compiled ahead of time: a process that uses them imports no Numba.

Numba's just-in-time kernels cost every process Numba's import and target set-up (about 0.8 s here), even
when the machine code comes from its cache; for the commands that is most of lmplz's whole time at 10^6
tokens. ``numba.pycc`` compiles the same Python functions (the ``py_func`` of the ``@njit`` dispatchers in
reference/_arpa_jit.py: one source, never written twice) into a CPython extension that needs only NumPy at
run time. It is built once, on first use, in a subprocess (the compiler's output never reaches the command's
standard output), into a cache folder keyed by a hash of the kernel source, this module (the signatures),
Numba's, llvmlite's, NumPy's and Python's versions and the CPU (the code is compiled for this CPU model):

    $LMVERIFY_CACHE, else $XDG_CACHE_HOME/lmverify, else ~/.cache/lmverify
        ngram-kernels-<key>/_lmv_ngram_kernels<ext>   the extension
        ngram-kernels-<key>/manifest.json             key, SHA-256 of the extension, kernel names
        ngram-kernels-<key>.failed                    why a build failed (later runs use Numba's JIT quietly)

A build happens in a temporary folder beside the entry and is renamed into place, under a file lock, so two
processes (two pytest-xdist workers) never see half an entry and compile once between them; an entry whose
manifest or extension does not check out (a different key, a SHA-256 that does not match, an import that
fails) is removed and rebuilt, never trusted. Where the build fails (no C compiler, an unwritable cache) the
reason is said once on standard error and the callers use Numba's JIT kernels (reference/arpa_walk.py).

The extension's argument conversion does not check dtypes, dimensions or layout (Numba's ``unbox_array``
would read any array as the declared type), so every exported kernel is called through a wrapper that checks
each argument against its declared type: an input array of another dtype is converted when NumPy casts it
safely, anything else is a ``TypeError`` naming the kernel and the argument.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time

import numpy as np

#: module name inside the extension (its ``PyInit_`` symbol)
MODULE = "_lmv_ngram_kernels"

# Argument notation: "i8", "f8", "b1" scalars; "bytes" a bytes object (read only); "<dtype>[:]" / "<dtype>[:,:]" C-contiguous arrays, "r" after
# them: read only by the kernel (converted when the caller's dtype casts safely), "w": written in place (the
# dtype must be exact: a converted copy would not be the caller's array).
_TABLES = ("i8[:,:]r", "i8[:]r", "i8[:]r", "i8[:]r", "f8[:]r", "i8[:]r", "f8[:]r", "i8[:]r")

#: every kernel the Python side calls (arpa.py, numpy/ngram.py, lmverify/ngram_cmd.py) and the test helper
#: ``format_f32_many``: (argument types, return type in Numba's notation)
KERNELS: dict[str, tuple[tuple[str, ...], str]] = {
    "walk": (("i8[:]r", "i8", "i8", "i8") + _TABLES, "float64"),
    "rows": (("i8[:,:]r", "i8[:]r", "i8", "i8") + _TABLES + ("b1",), "Tuple((float64[::1], int64[::1]))"),
    "g9_undecided": (("f8[:]r",), "boolean[::1]"),
    "arpa_lines": (("i8[:,:]r", "f8[:]r", "f8[:]r", "b1", "u1[:]r", "i8[:]r", "i8[:]r", "i8[:]r", "i8[:]r",
                    "u1[:]r", "i8[:]r", "i8"), "uint8[::1]"),
    "encode_text": (("u1[:]r", "i8", "i8[:]w", "i8[:]w", "i8[:]w", "u1[:]w", "i8", "i8"),
                    "Tuple((int32[::1], int64[::1], int64[::1], int64[::1], int64[::1], uint8[::1], int64, int64))"),
    "kgram_keys": (("i4[:]r", "i8", "i8"), "int64[::1]"),
    "sorted_runs": (("i8[:]r",), "Tuple((int64[::1], int64[::1]))"),
    "radix_argsort": (("i8[:]r",), "Tuple((int64[::1], int64[::1]))"),
    "radix_argsort_inplace": (("i8[:]w",), "Tuple((int64[::1], int32[::1]))"),
    "text_ids": (("u1[:]r", "i8", "i8[:,:]r", "i8", "i8", "i8[:]r", "i8"),
                 "Tuple((int64[::1], int64[::1], int64[::1], int64[::1]))"),
    "score_lines32": (("i8[:]r", "i8[:]r", "i8", "i8", "i8", "i8", "i8[:,:]r", "f4[:,:]r", "i4[:,:]r", "f4[:,:]r",
                       "i8[:,:]r", "f4[:,:]r"),
                      "Tuple((float32[::1], int64[::1], int64[::1], int64[::1], float32[::1]))"),
    "sentence_total": (("bytes", "i8", "i8", "i8[:]r", "i8[:,:]r", "i8[:,:]r", "f8[:]r", "f8[:]r"),
                       "Tuple((float64, int64))"),
    "place_rows": (("i8[:]r", "i8"), "int64[::1]"),
    "query_insert": (("i8[:,:]r", "f8[:]r", "f8[:]r", "i8", "i8", "i8", "i8[:,:]w", "f4[:,:]w", "i4[:,:]w", "f4[:,:]w",
                      "i8[:,:]r"), "int64"),
    "f32_digits": (("f4[:]r",), "Tuple((boolean[::1], int64[::1], int64[::1]))"),
    "query_lines": (("u1[:]r", "i8[:]r", "i8[:]r", "i8[:]r", "b1", "i8[:]r", "i8[:]r", "f4[:]r", "i8[:]r",
                     "i8[:]r", "u1[:]r", "i8[:]r", "i8[:]r", "f4[:]r", "i8[:]r", "i8[:]r", "i8[:]r", "i8[:]r",
                     "b1", "b1", "i8"), "uint8[::1]"),
    "format_f32_many": (("f4[:]r",), "Tuple((uint8[::1], int64[::1]))"),
    "arpa_marks": (("u1[:]r",), "int64[::1]"),
    "hash_rows": (("i8[:]r", "i8"), "int64[::1]"),
    "arpa_section": (("u1[:]r", "i8", "i8", "i8", "i8[:]w", "i8[:]w", "i8[:]w", "u1[:]w", "i8", "i8", "b1"),
                     "Tuple((float64[::1], float64[::1], int64[:, ::1], boolean[::1], boolean[::1], int64[::1], "
                     "int64[::1], int64, int64, int64))"),
}

_NUMBA_DTYPE = {"i4": "int32", "i8": "int64", "u1": "uint8", "f4": "float32", "f8": "float64", "b1": "boolean"}


def numba_signature(name: str) -> str:
    """The kernel's signature in Numba's notation (for ``CC.export``)."""
    args, ret = KERNELS[name]
    out = []
    for a in args:
        if a == "bytes":
            out.append("Bytes(uint8, 1, 'C', readonly=True)")
            continue
        if "[" not in a:
            out.append(_NUMBA_DTYPE[a])
            continue
        dt, ndim, mode = _NUMBA_DTYPE[a[:2]], a.count(":"), a[-1]
        out.append(f"Array({dt}, {ndim}, 'C', readonly={mode == 'r'})")
    return f"{ret}({', '.join(out)})"


# -- the cache ------------------------------------------------------------------------------------------------

def cache_root() -> str:
    """$LMVERIFY_CACHE, else $XDG_CACHE_HOME/lmverify, else ~/.cache/lmverify."""
    root = os.environ.get("LMVERIFY_CACHE")
    if root:
        return root
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(xdg, "lmverify")


def _package_version_file(name: str) -> bytes:
    """The bytes of an installed package's ``_version.py`` (its version, without importing it), or b'' where
    the package is not installed."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return b""
    if spec is None or not spec.origin:
        return b""
    try:
        with open(os.path.join(os.path.dirname(spec.origin), "_version.py"), "rb") as f:
            return f.read()
    except OSError:
        return spec.origin.encode()


def _cpu() -> bytes:
    """What identifies this CPU model for code compiled for it: the machine, and on Linux the model name and
    feature flags of /proc/cpuinfo's first processor."""
    import platform

    out = platform.machine().encode()
    try:
        with open("/proc/cpuinfo", "rb") as f:
            text = f.read(1 << 16)
    except OSError:
        return out + platform.processor().encode()
    for line in text.split(b"\n\n")[0].split(b"\n"):
        if line.startswith((b"model name", b"flags", b"Features", b"CPU part")):
            out += b"\0" + line
    return out


def cache_key(source: bytes | None = None) -> str:
    """Hash of what the extension depends on: the kernels' source (``source``: reference/_arpa_jit.py's bytes,
    read when None), this module, Numba's, llvmlite's and NumPy's versions, Python's, the CPU."""
    here = os.path.dirname(os.path.abspath(__file__))
    if source is None:
        with open(os.path.join(here, "_arpa_jit.py"), "rb") as f:
            source = f.read()
    with open(os.path.abspath(__file__), "rb") as f:
        me = f.read()
    h = hashlib.sha256()
    for part in (source, me, _package_version_file("numba"), _package_version_file("llvmlite"),
                 np.__version__.encode(), sys.version.encode(), _cpu()):
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:24]


def _ext_suffix() -> str:
    import sysconfig

    return sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _import_extension(path: str):
    """The extension module at ``path`` (not entered in ``sys.modules``)."""
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.ExtensionFileLoader(MODULE, path)
    spec = importlib.util.spec_from_file_location(MODULE, path, loader=loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def _check_entry(entry: str, key: str):
    """The extension of the cache entry ``entry`` if its manifest names ``key``, the extension's SHA-256 matches
    and it imports and has every kernel; else (None, why)."""
    try:
        with open(os.path.join(entry, "manifest.json"), encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as exc:
        return None, f"no readable manifest.json ({exc})"
    if not isinstance(manifest, dict) or manifest.get("key") != key:
        return None, "manifest.json names another key"
    path = os.path.join(entry, MODULE + _ext_suffix())
    try:
        digest = _sha256_file(path)
    except OSError as exc:
        return None, f"no extension ({exc})"
    if digest != manifest.get("sha256"):
        return None, "the extension's SHA-256 does not match manifest.json (damaged or cut short)"
    try:
        mod = _import_extension(path)
    except Exception as exc:  # noqa: BLE001 - any import failure means: rebuild
        return None, f"the extension does not import ({type(exc).__name__}: {exc})"
    missing = [k for k in KERNELS if not hasattr(mod, k)]
    if missing:
        return None, f"the extension lacks {', '.join(missing)}"
    return mod, ""


def _remove(path: str) -> None:
    import shutil

    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.remove(path)
        except OSError:
            pass


class _Lock:
    """An exclusive lock on a file (fcntl; none where that is missing): one process builds, the others wait."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.f = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:
            return self
        self.f = open(self.path, "a")  # noqa: SIM115 - held until __exit__
        fcntl.flock(self.f.fileno(), fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc) -> None:
        if self.f is not None:
            import fcntl

            fcntl.flock(self.f.fileno(), fcntl.LOCK_UN)
            self.f.close()


def build(out_dir: str) -> None:
    """Compile every kernel of :data:`KERNELS` into ``out_dir``/MODULE<ext> (imports Numba; run by
    :func:`_compile` in a subprocess)."""
    import logging

    logging.getLogger("numba").setLevel(logging.ERROR)
    import warnings

    warnings.simplefilter("ignore")  # numba.pycc's deprecation notice: the fallback covers its removal
    from numba.pycc import CC

    from reference import _arpa_jit

    cc = CC(MODULE)
    cc.output_dir = out_dir
    cc.target_cpu = "host"  # the key names this CPU; Numba's JIT compiles for it too
    cc.verbose = False
    for name in KERNELS:
        cc.export(name, numba_signature(name))(getattr(_arpa_jit, name).py_func)
    cc.compile()


def _compile(tmp: str) -> None:
    """:func:`build` into ``tmp`` in a subprocess; RuntimeError with the end of its output if it fails."""
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([root] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    proc = subprocess.run([sys.executable, "-m", "reference._arpa_aot", "build", tmp], cwd=root, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = proc.stdout.decode("utf-8", "replace").strip().splitlines()[-3:]
        raise RuntimeError(f"the compiler exited with {proc.returncode}: {' | '.join(tail) or 'no output'}")


def _say(text: str) -> None:
    print(f"lmverify: {text}", file=sys.stderr, flush=True)


def _estimate(root: str) -> str:
    try:
        with open(os.path.join(root, "ngram-kernels-last-compile-seconds"), encoding="ascii") as f:
            return f"about {float(f.read()):.0f} s last time"
    except (OSError, ValueError):
        return "up to a minute or two"


def load(root: str | None = None, compile_fn=None):
    """The compiled kernels (an object with one checked function per kernel), building them on first use; None
    where that fails (said once on standard error) or has failed before for this key (a ``.failed`` file)."""
    root = root or cache_root()
    key = cache_key()
    entry = os.path.join(root, f"ngram-kernels-{key}")
    failed = entry + ".failed"
    if os.path.exists(failed):
        return None
    mod, why = _check_entry(entry, key) if os.path.isdir(entry) else (None, "")
    if mod is not None:
        return Kernels(mod)
    try:
        os.makedirs(root, exist_ok=True)
        with _Lock(entry + ".lock"):
            mod, why = _check_entry(entry, key) if os.path.isdir(entry) else (None, "")
            if mod is not None:  # another process built it while this one waited
                return Kernels(mod)
            if os.path.exists(failed):
                return None
            if os.path.isdir(entry):
                _say(f"the cached n-gram kernels in {entry} are not usable ({why}): rebuilding them")
                _remove(entry)
            mod = _build_entry(root, entry, key, compile_fn or _compile)
            return Kernels(mod)
    except Exception as exc:  # noqa: BLE001 - any failure: say why, fall back to Numba's JIT
        reason = f"{type(exc).__name__}: {exc}"
        try:
            with open(failed, "w", encoding="utf-8") as f:
                f.write(reason + "\n")
            where = f" (recorded in {failed}: delete it to try again)"
        except OSError:
            where = ""
        _say(f"could not compile the n-gram kernels ahead of time ({reason}); using Numba's just-in-time "
             f"kernels instead{where}")
        return None


def _build_entry(root: str, entry: str, key: str, compile_fn):
    import tempfile

    _say(f"compiling the n-gram kernels once ({_estimate(root)}), cached in {entry}")
    started = time.perf_counter()
    tmp = tempfile.mkdtemp(prefix=f"ngram-kernels-{key}.", suffix=".tmp", dir=root)
    try:
        compile_fn(tmp)
        path = os.path.join(tmp, MODULE + _ext_suffix())
        if not os.path.exists(path):
            raise RuntimeError(f"the compiler wrote no {MODULE + _ext_suffix()}")
        manifest = {"key": key, "sha256": _sha256_file(path), "kernels": sorted(KERNELS),
                    "python": sys.version.split()[0], "numpy": np.__version__}
        with open(os.path.join(tmp, "manifest.json"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
        mod, why = _check_entry(tmp, key)
        if mod is None:
            raise RuntimeError(f"the freshly compiled extension is not usable: {why}")
        try:
            os.replace(tmp, entry)  # atomic: other processes see no entry or a whole one
        except OSError:
            if not os.path.isdir(entry):  # (an entry already there: another process's, checked below)
                raise
    finally:
        if os.path.isdir(tmp):
            _remove(tmp)
    seconds = time.perf_counter() - started
    try:
        with open(os.path.join(root, "ngram-kernels-last-compile-seconds"), "w", encoding="ascii") as f:
            f.write(f"{seconds:.1f}\n")
    except OSError:
        pass
    _say(f"compiled the n-gram kernels in {seconds:.1f} s; later runs load them from {entry}")
    mod, why = _check_entry(entry, key)
    if mod is None:
        raise RuntimeError(f"the cache entry {entry} is not usable after the build: {why}")
    return mod


# -- the checked calls ------------------------------------------------------------------------------------------

_NP_DTYPE = {"i4": np.dtype(np.int32), "i8": np.dtype(np.int64), "u1": np.dtype(np.uint8),
             "f4": np.dtype(np.float32), "f8": np.dtype(np.float64), "b1": np.dtype(np.bool_)}


def _checked(name: str, fn):
    """``fn`` (a kernel of the extension) behind checks of its arguments against :data:`KERNELS` (generated
    code: one test per argument in the common case)."""
    args, _ = KERNELS[name]
    names = [f"a{i}" for i in range(len(args))]
    lines = [f"def {name}({', '.join(names)}):"]
    env: dict = {"_fn": fn, "_fix": _fix, "_nd": np.ndarray, "_index": _index, "_bytes": _bytes}
    for i, a in enumerate(args):
        v = names[i]
        if a in ("i8",):
            lines.append(f"    if type({v}) is not int:")
            lines.append(f"        {v} = _index({v}, {name!r}, {i})")
        elif a == "b1":
            lines.append(f"    if type({v}) is not bool:")
            lines.append(f"        {v} = bool({v})")
        elif a == "f8":
            lines.append(f"    {v} = float({v})")
        elif a == "bytes":
            lines.append(f"    if type({v}) is not bytes:")
            lines.append(f"        {v} = _bytes({v}, {name!r}, {i})")
        else:
            dt, ndim = _NP_DTYPE[a[:2]], a.count(":")
            env[f"_dt{i}"] = dt
            lines.append(f"    if not (isinstance({v}, _nd) and {v}.dtype is _dt{i} and {v}.ndim == {ndim} "
                         f"and {v}.flags.c_contiguous):")
            lines.append(f"        {v} = _fix({v}, {name!r}, {i}, {a!r})")
    lines.append(f"    return _fn({', '.join(names)})")
    exec("\n".join(lines), env)  # noqa: S102 - code generated from KERNELS above
    f = env[name]
    f.__doc__ = f"reference/_arpa_jit.py's {name}, compiled ahead of time (arguments checked)."
    return f


def _bytes(v, kernel: str, i: int) -> bytes:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise TypeError(f"{kernel}: argument {i} must be bytes, got {type(v).__name__}")


def _index(v, kernel: str, i: int) -> int:
    try:
        return int(v.__index__())
    except AttributeError:
        raise TypeError(f"{kernel}: argument {i} must be an integer, got {type(v).__name__}") from None


def _fix(v, kernel: str, i: int, spec: str):
    """An argument that is not exactly the declared array: a C-contiguous copy of the declared dtype where the
    kernel only reads it and NumPy casts it safely; else TypeError naming the kernel and the argument."""
    dt, ndim = _NP_DTYPE[spec[:2]], spec.count(":")
    a = np.asarray(v)
    if a.ndim != ndim:
        raise TypeError(f"{kernel}: argument {i} must be a {ndim}-d array of {dt}, got {a.ndim}-d")
    if spec.endswith("w"):
        if a is not v or a.dtype != dt or not a.flags.c_contiguous or not a.flags.writeable:
            raise TypeError(f"{kernel}: argument {i} is written in place: it must be a writable C-contiguous "
                            f"{dt} array, got {a.dtype}{'' if a.flags.c_contiguous else ' (not contiguous)'}")
        return a
    if a.dtype != dt and not np.can_cast(a.dtype, dt, "safe"):
        raise TypeError(f"{kernel}: argument {i} must be an array of {dt} (or one that casts to it safely), "
                        f"got {a.dtype}")
    return np.ascontiguousarray(a, dtype=dt)


class Kernels:
    """The extension's kernels, each behind its argument checks; ``path`` is the extension's file."""

    def __init__(self, mod) -> None:
        self.path = mod.__file__
        #: the kernels without the checks, for a caller that checked its arguments once (one sentence at a time)
        self.unchecked = {}
        for name in KERNELS:
            setattr(self, name, _checked(name, getattr(mod, name)))
            self.unchecked[name] = getattr(mod, name)

    def __repr__(self) -> str:
        return f"<n-gram kernels compiled ahead of time: {self.path}>"


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "build":
        sys.exit("usage: python -m reference._arpa_aot build OUT_DIR")
    build(sys.argv[2])
