"""Containment for every piece of code the tool runs: page code blocks, notebooks, and (through the same call)
student processes and anything else started with :func:`run_contained`.

    with private_folder() as folder:
        (folder / "page_code.py").write_text(code)
        r = run_contained([sys.executable, "page_code.py"], cwd=folder, cpu_seconds=300, memory_mib=4096)
    r.status            # ok | failed | cpu_limit | memory_limit | wall_limit
    r.writes_outside    # writes (or refused attempts) outside the run's folder
    r.network_attempts  # network calls the offline guard refused and recorded
    r.leftover_processes

What a contained run gets, and how each property is enforced:

* **A private working directory**: a fresh temporary folder (``private_folder``, or the ``cwd`` the caller made
  with it), with ``TMPDIR``, ``MPLCONFIGDIR`` (seeded with the font cache), ``IPYTHONDIR`` and
  ``JUPYTER_RUNTIME_DIR`` inside it, and ``PYTHONDONTWRITEBYTECODE=1``.
* **No writes outside it.** *Namespaces* (``isolation() == "namespaces"``, where util-linux's ``unshare
  --user --map-root-user --net --mount --pid`` works; Python 3.11 has no ``os.unshare``): in a private mount
  namespace every mount is made read-only (``mount_setattr(2)``, recursive) except the run's folder, the
  caller's ``writable`` paths and a private tmpfs on ``/dev/shm``; the kernel refuses any other write, from any
  program. *Fallback* (no usable ``unshare``): nothing stops a non-Python program from writing. In both modes
  an audit hook in every guarded Python interpreter refuses (``PermissionError``) and records Python-level
  writes outside (``open`` for writing, mkdir, remove, rename, ...), and a snapshot of modification times
  (``$HOME`` to depth 2, the project tree, the ``watch`` folders such as the course folder, and the regular
  files at the top of ``/tmp``) is taken before and after. In fallback mode what changed there is reported in
  ``writes_outside`` (it cannot be told from a concurrent process's write: the price of having no namespace);
  in namespace mode the kernel refused every such write, so a change there is another process's and is only
  listed in ``changed_meanwhile``. Any ``writes_outside`` makes the run ``failed``.
* **Every descendant ended with the run.** Namespaces: the code runs under a small init as PID 1 of its own PID
  namespace; when the code's main process ends, the init counts what is left (``leftover_processes``) and
  ends it, and the kernel ends every process of the namespace with the init (a detached ``setsid`` grandchild
  included). Fallback: the init is a child subreaper (``PR_SET_CHILD_SUBREAPER``), so orphans become its
  children, and it stops and kills every descendant it finds in ``/proc``. The process group is killed too.
* **Offline.** Namespaces: a network namespace with only the loopback interface: no route anywhere, for every
  program. In every guarded Python interpreter an audit hook refuses and records (``network_attempts``) each
  ``socket.connect`` (``connect_ex`` too, and ``_socket`` objects), ``sendto``/``sendmsg``, ``getaddrinfo``,
  ``gethostbyname``/``gethostbyaddr``/``getnameinfo`` to anything but the loopback. Child interpreters get the
  guard through ``PYTHONPATH`` (a ``sitecustomize``) and, in namespace mode, also through a ``.pth`` line
  bind-mounted over the interpreter's site-packages, which ``python -I`` still reads (``python -S`` does not:
  its calls are refused by the namespace but not recorded). In fallback mode ``python -I`` and non-Python
  programs are not guarded at all: say so, and rely on the namespace where one is available.
* **Limits.** CPU time (``RLIMIT_CPU``, whole seconds, rounded up; per process) rather than wall time; a
  generous wall-clock backstop (``wall_seconds``, default ten times the CPU limit, at least 60 s); memory as
  ``RLIMIT_DATA`` (heap and private mappings: ``import torch`` and NumPy, which reserve large *virtual* areas,
  run under 512 MiB, where ``RLIMIT_AS`` would break them). A run stopped by the CPU limit is ``cpu_limit``,
  by the backstop ``wall_limit``; a run that ends on a ``MemoryError`` (or PyTorch's allocator failure)
  recorded by the guard is ``memory_limit``.

The guard's records are files in the run's folder, so code that means harm can erase them; what it cannot do
in namespace mode is write outside, reach the network or outlive the run. Recipes (the project's and the
course author's ``recipes.py``) are imported in-process by :mod:`lmverify.worked` and are not contained:
their values are returned as Python objects, a subprocess per recipe call would cost more than the recipe,
and they are reviewed code in the repository rather than text read from a page.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

STATUSES = ("ok", "failed", "cpu_limit", "memory_limit", "wall_limit")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
FOLDER_PREFIX = "lmverify-run-"
#: the wall-clock backstop, as a multiple of the CPU limit, and its floor in seconds
WALL_FACTOR, WALL_FLOOR = 10.0, 60.0
#: extra seconds the tool waits for the init after the backstop before it kills the whole group itself
_GRACE = 15.0


class SandboxError(ValueError):
    """A bad argument to the runner (names the argument and what was expected), or a runner that cannot start."""


def positive_seconds(value: object, name: str = "seconds") -> float:
    """``value`` as a finite positive number of seconds; a named SandboxError for -5, 0, nan, inf or text."""
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SandboxError(f"{name} {value!r}: expected a positive number of seconds") from None
    if not math.isfinite(x) or x <= 0:
        raise SandboxError(f"{name} {value!r}: expected a finite, positive number of seconds")
    return x


def cpu_seconds_arg(text: str) -> float:
    """argparse ``type=`` for CPU-second options (``--code-timeout``): a usage error names the bad value."""
    import argparse

    try:
        return positive_seconds(text, "")
    except SandboxError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a finite, positive number of CPU seconds "
                                         "(e.g. 300)") from None


@dataclass
class ContainedRun:
    """How a contained command ended. ``returncode`` is negative for a signal (as :mod:`subprocess`)."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    cpu_seconds: float  # user + system time of the main process and the children it waited for
    wall_seconds: float
    status: str  # one of STATUSES
    reason: str = ""  # why the status, in words ("" when ok)
    writes_outside: list[str] = field(default_factory=list)
    network_attempts: list[str] = field(default_factory=list)
    leftover_processes: int = 0  # descendants still running when the main process ended (all ended since)
    isolation: str = "fallback"  # "namespaces" or "fallback"
    changed_meanwhile: list[str] = field(default_factory=list)  # namespaces: changes outside, not this run's
    memory_error: str = ""  # the MemoryError (or allocator failure) the guard recorded, if any


# ---------------------------------------------------------------------------------------------- isolation

_ISOLATION: str | None = None


def _unshare_prefix(offline: bool) -> list[str]:
    return ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork", "--kill-child",
            "--mount-proc"] + (["--net"] if offline else [])


def isolation() -> str:
    """``namespaces`` when ``unshare`` can make a user, mount, PID and network namespace here and the init can
    make the file system read-only inside it (tried once per process), else ``fallback``. The environment
    variable ``LMVERIFY_SANDBOX=fallback`` forces the fallback (to test it)."""
    global _ISOLATION
    if os.environ.get("LMVERIFY_SANDBOX") == "fallback" or not sys.platform.startswith("linux"):
        return "fallback"
    if _ISOLATION is None:
        _ISOLATION = "fallback"
        if shutil.which("unshare"):
            with private_folder() as folder:
                config = {"ns": True, "net": True, "folder": str(folder), "writable": [], "pth": [], "probe": True}
                try:
                    p = subprocess.run(_unshare_prefix(True) + [sys.executable, "-I", "-S", "-c", _INIT,
                                                                json.dumps(config)],
                                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
                    if p.returncode == 0 and p.stdout.strip() == "probe ok":
                        _ISOLATION = "namespaces"
                except (OSError, subprocess.SubprocessError):
                    pass
    return _ISOLATION


# ---------------------------------------------------------------------------------------------- the init

# Runs as PID 1 of the new namespaces (or, in fallback mode, as a child subreaper): makes the file system
# read-only but for the allowed paths, brings the loopback up, starts the command with the limits, waits,
# then ends whatever is left and writes how the command ended to the status pipe. ``python -I -S``: no site,
# no environment variables read, standard library only.
_INIT = r'''
import ctypes, json, os, resource, signal, socket, struct, sys, time
cfg = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)

def fail(msg):
    if cfg.get("probe"):
        print("probe failed: " + msg)
        sys.exit(3)
    os.write(cfg["status_fd"], json.dumps({"setup_error": msg}).encode())
    sys.exit(125)

def mount(src, tgt, fs, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None
    if libc.mount(enc(src), enc(tgt), enc(fs), ctypes.c_ulong(flags), enc(data)) != 0:
        fail("mount %s: %s" % (tgt, os.strerror(ctypes.get_errno())))

class MountAttr(ctypes.Structure):
    _fields_ = [("set", ctypes.c_uint64), ("clr", ctypes.c_uint64), ("prop", ctypes.c_uint64),
                ("userns", ctypes.c_uint64)]

def readonly(path, on, recursive):
    attr = MountAttr(1 if on else 0, 0 if on else 1, 0, 0)  # MOUNT_ATTR_RDONLY
    # mount_setattr(2) is syscall 442 on x86-64 and arm64 alike; AT_FDCWD = -100, AT_RECURSIVE = 0x8000
    if libc.syscall(442, -100, path.encode(), 0x8000 if recursive else 0, ctypes.byref(attr),
                    ctypes.sizeof(attr)) != 0:
        fail("mount_setattr %s: %s" % (path, os.strerror(ctypes.get_errno())))

MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
if cfg["ns"]:
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    keep = [cfg["folder"]] + [w for w in cfg["writable"] if os.path.exists(w)]
    for w in keep:
        mount(w, w, None, MS_BIND | MS_REC)
    for src, tgt in cfg["pth"]:
        mount(src, tgt, None, MS_BIND)
    if os.path.isdir("/dev/shm"):
        mount("tmpfs", "/dev/shm", "tmpfs", 0, "mode=1777")
        keep.append("/dev/shm")
    readonly("/", True, True)
    for w in keep:
        readonly(w, False, False)
    try:  # the loopback of the new network namespace up (SIOCGIFFLAGS, SIOCSIFFLAGS): local servers, Jupyter
        if not cfg["net"]:
            raise StopIteration
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        import fcntl
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, 0x8913, struct.pack("16sH14s", b"lo", 0, b"")))[1]
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14s", b"lo", flags | 1, b""))
        s.close()
    except StopIteration:
        pass
    except OSError as exc:
        fail("loopback: %s" % exc)
    if cfg.get("probe"):
        try:
            open("/etc/.lmverify-probe", "w")
            fail("the file system is still writable")
        except OSError:
            pass
        open(os.path.join(cfg["folder"], "probe"), "w").close()
        print("probe ok")
        sys.exit(0)
else:
    try:
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER (Linux): orphaned descendants become our children
    except AttributeError:
        pass  # not Linux: only the process group is ended

status_fd = cfg["status_fd"]
timed_out = []
pid = os.fork()
if pid == 0:
    try:
        os.close(status_fd)
        os.setsid()
        os.chdir(cfg["cwd"])
        cpu = cfg["cpu"]
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
        if cfg["mem"]:
            resource.setrlimit(resource.RLIMIT_DATA, (cfg["mem"], cfg["mem"]))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.execvp(cfg["argv"][0], cfg["argv"])
    except BaseException as exc:
        os.write(2, ("lmverify: cannot run %r: %s\n" % (cfg["argv"][0], exc)).encode())
    os._exit(127)

started = time.monotonic()

def on_alarm(signum, frame):
    if time.monotonic() - started < 0.99 * cfg["wall"]:
        return  # not our timer: the code sent it (as PID 1 we would otherwise obey)
    timed_out.append(1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass

signal.signal(signal.SIGALRM, on_alarm)
signal.setitimer(signal.ITIMER_REAL, cfg["wall"])
me = os.getpid()
while True:
    try:
        got, st, ru = os.wait4(-1, 0)
    except ChildProcessError:
        fail("the command's process vanished")
    if got == pid:
        break
signal.setitimer(signal.ITIMER_REAL, 0)

def descendants():
    kids = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        entries = []
    for d in entries:
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d, "rb") as f:
                    data = f.read()
                ppid = int(data[data.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], list(kids.get(me, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out

left = descendants()
leftover = len(left)
for _ in range(50):
    if not left:
        break
    for p in left:
        try:
            os.kill(p, signal.SIGSTOP)
        except OSError:
            pass
    for p in left:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    left = descendants()
    if left:
        time.sleep(0.01)
report = {"returncode": os.waitstatus_to_exitcode(st), "cpu": ru.ru_utime + ru.ru_stime,
          "maxrss_kib": ru.ru_maxrss, "leftover": leftover, "timed_out": bool(timed_out),
          "still_running": len(left)}
os.write(status_fd, json.dumps(report).encode())
os.close(status_fd)
sys.exit(0)
'''


# ---------------------------------------------------------------------------------------------- the guard

# Loaded by every guarded Python interpreter of a run (a ``sitecustomize`` on PYTHONPATH, and in namespace mode
# a ``.pth`` line): an audit hook that refuses and records network calls and writes outside the allowed paths,
# and an excepthook that records a MemoryError. The constants are filled in per run.
_GUARD = r'''
import sys
if not getattr(sys, "_lmverify_guard", False):
    sys._lmverify_guard = True

    def _lmverify_install(FOLDER, ALLOWED, NETLOG, WRITELOG, MEMLOG, OFFLINE, KERNEL_RO):
        import os
        import socket

        LOCAL_HOSTS = {None, "", "localhost", "localhost.localdomain", "0.0.0.0", "::", "::1", "ip6-localhost"}
        WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
        cwd0 = os.getcwd()
        busy = []

        def log(path, text):
            busy.append(1)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
                try:
                    os.write(fd, (text.replace("\n", " ") + "\n").encode("utf-8", "replace"))
                finally:
                    os.close(fd)
            except OSError:
                pass
            finally:
                busy.pop()

        def local(host):
            if isinstance(host, bytes):
                host = host.decode("ascii", "replace")
            return host in LOCAL_HOSTS or (isinstance(host, str) and host.startswith("127."))

        def numeric(host, reverse):
            """A numeric address resolves without the network (a reverse lookup does not)."""
            if reverse:
                return False
            try:
                import ipaddress
                ipaddress.ip_address(host.decode() if isinstance(host, bytes) else host)
                return True
            except (ValueError, TypeError, UnicodeDecodeError):
                return False

        def refuse_net(what):
            log(NETLOG, what)
            raise OSError(101, "[lmverify offline] " + what + " refused: code run by lmverify has no network")

        def where(p):
            try:
                p = os.fsdecode(os.fspath(p))
            except TypeError:
                return None
            try:
                base = os.getcwd()
            except OSError:
                base = cwd0
            return os.path.normpath(os.path.join(base, p))

        def outside(p):
            full = where(p)
            if full is None:
                return None
            for a in ALLOWED:
                if full == a or full.startswith(a.rstrip("/") + "/"):
                    return None
            return full

        def refuse_write(event, path):
            full = outside(path)
            if full is None:
                return
            log(WRITELOG, "%s (%s)" % (full, event))
            raise PermissionError(13, "[lmverify] %s outside the run's folder refused" % event, full)

        def hook(event, args):
            if busy:
                return
            if event == "open":
                path, mode, flags = args
                if isinstance(path, int) or not isinstance(flags, int) or not flags & WRITE_FLAGS:
                    return
                refuse_write("open for writing", path)
            elif event in ("os.mkdir", "os.remove", "os.rmdir", "os.truncate", "os.chmod", "os.chown",
                           "os.utime", "os.symlink", "os.link", "os.rename", "shutil.rmtree", "os.mkfifo",
                           "os.mknod"):
                if event in ("os.symlink", "os.link", "os.rename"):
                    paths = [args[1]] + ([args[0]] if event == "os.rename" else [])
                    dir_fds = [args[3] if len(args) > 3 else -1]
                elif event == "os.truncate":
                    paths, dir_fds = [args[0]], [-1]
                else:
                    paths = [args[0]]
                    dir_fds = [a for a in args[1:] if isinstance(a, int)][-1:] or [-1]
                if isinstance(paths[0], int) or (dir_fds and dir_fds[0] not in (-1, None)):
                    return
                for p in paths:
                    refuse_write(event.replace("os.", "").replace("shutil.", ""), p)
            elif OFFLINE and event.startswith("socket."):
                if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
                    sock, address = args[0], args[-1]
                    if getattr(sock, "family", None) not in (socket.AF_INET, socket.AF_INET6):
                        return
                    if isinstance(address, tuple) and address and local(address[0]):
                        return
                    refuse_net("%s to %r" % (event.replace("socket.", ""), address))
                elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr"):
                    if not local(args[0]) and not numeric(args[0], event == "socket.gethostbyaddr"):
                        refuse_net("%s of %r" % (event.replace("socket.", ""), args[0]))
                elif event == "socket.getnameinfo":
                    sa = args[0]
                    if isinstance(sa, tuple) and sa and not local(sa[0]):
                        refuse_net("getnameinfo of %r" % (sa[0],))

        sys.addaudithook(hook)
        previous = sys.excepthook

        def excepthook(kind, value, tb):
            text = "%s: %s" % (kind.__name__, value)
            if isinstance(value, MemoryError) or (isinstance(value, RuntimeError)
                                                  and "DefaultCPUAllocator" in str(value)):
                log(MEMLOG, text[:500])
            previous(kind, value, tb)

        sys.excepthook = excepthook

    _lmverify_install(**CONFIG)
    del _lmverify_install
'''


def _guard_source(config: dict) -> str:
    return _GUARD.replace("_lmverify_install(**CONFIG)", f"_lmverify_install(**{config!r})")


# ---------------------------------------------------------------------------------------------- folders


@contextmanager
def private_folder(prefix: str = FOLDER_PREFIX) -> Iterator[Path]:
    """A fresh temporary folder, removed afterwards (whatever the contained code made read-only in it)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix)).resolve()
    try:
        yield folder
    finally:
        _remove(folder)


def _remove(folder: Path) -> None:
    def retry(func, path, _exc):
        try:
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            os.chmod(path, stat.S_IRWXU)
            func(path)
        except OSError:
            pass

    shutil.rmtree(folder, onerror=retry)


# ---------------------------------------------------------------------------------------------- snapshot


def _snapshot(roots: list[tuple[Path, int | None, bool]], skip: set[str]) -> dict[str, tuple[int, int]]:
    """(mtime, size) of every entry under each root to its depth (None: all), leaving out version-control,
    virtual-environment and cache folders and the ``skip`` paths; ``files_only``: regular files and links."""
    out: dict[str, tuple[int, int]] = {}
    ignore = {".git", ".venv", "venv", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache", "node_modules"}
    for root, depth, files_only in roots:
        todo = [(str(root), 1)]
        while todo:
            d, level = todo.pop()
            try:
                it = os.scandir(d)
            except OSError:
                continue
            with it:
                for e in it:
                    if e.path in skip or e.name.startswith(FOLDER_PREFIX) or e.name in ignore:
                        continue
                    try:
                        s = e.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    is_dir = stat.S_ISDIR(s.st_mode)
                    if not (files_only and is_dir):
                        out[e.path] = (s.st_mtime_ns, s.st_size)
                    if is_dir and (depth is None or level < depth):
                        todo.append((e.path, level + 1))
    return out


def _watch_roots(watch: Sequence[Path]) -> list[tuple[Path, int | None, bool]]:
    roots: list[tuple[Path, int | None, bool]] = []
    home = Path(os.path.expanduser("~"))
    if home.is_dir():
        roots.append((home, 2, False))
    roots.append((PROJECT_ROOT, None, False))
    roots.extend((Path(w).resolve(), None, False) for w in watch if Path(w).is_dir())
    roots.append((Path(tempfile.gettempdir()).resolve(), 1, True))
    roots.append((Path("/tmp"), 1, True))
    seen, unique = set(), []
    for r in roots:
        if str(r[0]) not in seen:
            seen.add(str(r[0]))
            unique.append(r)
    return unique


def _changed(before: dict, after: dict) -> list[str]:
    out = [f"{p} (written)" if p in before else f"{p} (created)" for p in sorted(after) if before.get(p) != after[p]]
    out += [f"{p} (removed)" for p in sorted(before) if p not in after]
    return out


# ---------------------------------------------------------------------------------------------- the run


def _site_dirs() -> list[Path]:
    """The site-packages of this interpreter and of its base installation (where child interpreters look)."""
    import site
    import sysconfig

    dirs = [Path(p) for p in site.getsitepackages()]
    base = sysconfig.get_path("purelib", vars={"base": sys.base_prefix, "platbase": sys.base_prefix})
    dirs.append(Path(base))
    seen, out = set(), []
    for d in dirs:
        if d.is_dir() and str(d.resolve()) not in seen:
            seen.add(str(d.resolve()))
            out.append(d.resolve())
    return out


def _seed_matplotlib(target: Path) -> None:
    """Copy matplotlib's font cache into the run's MPLCONFIGDIR (else each run rebuilds it, about a second)."""
    target.mkdir(exist_ok=True)
    places = [os.environ.get("MPLCONFIGDIR"), os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                                           os.path.expanduser("~/.cache"), "matplotlib"),
              os.path.expanduser("~/.matplotlib")]
    for place in places:
        if place and os.path.isdir(place):
            for f in Path(place).glob("fontlist-*.json"):
                try:
                    shutil.copy2(f, target / f.name)
                except OSError:
                    pass
            return


def run_contained(argv: Sequence[str], *, cwd: str | Path | None = None, cpu_seconds: float,
                  memory_mib: float | None = 4096, wall_seconds: float | None = None,
                  env: dict[str, str] | None = None, offline: bool = True, writable: Sequence[str | Path] = (),
                  watch: Sequence[str | Path] = (), python_paths: Sequence[str | Path] = (),
                  _mode: str | None = None) -> ContainedRun:
    """Run ``argv`` contained (see the module's documentation) and say how it ended.

    ``cwd``: the run's private folder (made with :func:`private_folder`; the only place it may write); without
    it a fresh one is made and removed after. ``cpu_seconds``: the CPU-time limit (whole seconds, rounded up);
    ``memory_mib``: ``RLIMIT_DATA`` (None: none); ``wall_seconds``: the backstop (default ten times the CPU
    limit, at least 60 s). ``env``: the environment (default: this process's), to which the runner adds its own
    variables. ``offline``: refuse the network (namespace and guard). ``writable``: other paths the run may
    write (kept writable in namespace mode). ``watch``: folders to add to the snapshot (e.g. the course).
    ``python_paths``: folders put on the guarded interpreter's PYTHONPATH after the guard."""
    argv = [os.fspath(a) for a in argv]
    if not argv:
        raise SandboxError("argv: expected a command (a non-empty list), got an empty one")
    cpu = positive_seconds(cpu_seconds, "cpu_seconds")
    mem = None if memory_mib is None else positive_seconds(memory_mib, "memory_mib")
    wall = (max(WALL_FACTOR * cpu, WALL_FLOOR) if wall_seconds is None
            else positive_seconds(wall_seconds, "wall_seconds"))
    if cwd is not None and not Path(cwd).is_dir():
        raise SandboxError(f"cwd {str(cwd)!r}: expected an existing folder (make one with private_folder())")
    if cwd is None:
        with private_folder() as folder:
            return run_contained(argv, cwd=folder, cpu_seconds=cpu, memory_mib=mem, wall_seconds=wall, env=env,
                                 offline=offline, writable=writable, watch=watch, python_paths=python_paths,
                                 _mode=_mode)
    folder = Path(cwd).resolve()
    mode = _mode or isolation()
    ns = mode == "namespaces"
    meta = folder / ".lmverify"
    meta.mkdir(exist_ok=True)
    (meta / "tmp").mkdir(exist_ok=True)  # IPython and Jupyter make their folders themselves
    _seed_matplotlib(meta / "matplotlib")
    allowed = [str(folder)] + [str(Path(w).resolve()) for w in writable] + ["/dev"]
    logs = {"NETLOG": str(meta / "net.log"), "WRITELOG": str(meta / "write.log"), "MEMLOG": str(meta / "memory.log")}
    site_dir = meta / "site"  # on PYTHONPATH: sitecustomize.py and the guard only
    site_dir.mkdir(exist_ok=True)
    guard = site_dir / "_lmverify_guard.py"
    guard.write_text(_guard_source({"FOLDER": str(folder), "ALLOWED": allowed, **logs, "OFFLINE": offline,
                                    "KERNEL_RO": ns}), encoding="utf-8")
    line = f"import sys; exec(compile(open({str(guard)!r}).read(), {str(guard)!r}, 'exec'))\n"
    (site_dir / "sitecustomize.py").write_text(line, encoding="utf-8")
    pth = []
    if ns:
        for k, d in enumerate(_site_dirs()):
            existing = sorted(d.glob("*.pth"))
            if existing:
                copy = meta / f"guard-{k}.pth"
                copy.write_text(existing[0].read_text(encoding="utf-8", errors="replace").rstrip("\n") + "\n" + line,
                                encoding="utf-8")
                pth.append([str(copy), str(existing[0])])

    full_env = dict(os.environ if env is None else env)
    old_path = full_env.get("PYTHONPATH")
    full_env.update({
        "PYTHONPATH": os.pathsep.join([str(site_dir)] + [str(p) for p in python_paths]
                                      + ([old_path] if old_path else [])),
        "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": str(meta / "tmp"), "MPLCONFIGDIR": str(meta / "matplotlib"),
        "IPYTHONDIR": str(meta / "ipython"), "JUPYTER_RUNTIME_DIR": str(meta / "jupyter-runtime"),
        "LMVERIFY_RUN_FOLDER": str(folder), "LMVERIFY_NETLOG": logs["NETLOG"],
    })
    full_env.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # spinning worker threads would bill CPU time for waiting

    cpu_whole = max(1, math.ceil(cpu))
    read_fd, write_fd = os.pipe()
    config = {"ns": ns, "net": ns and offline, "folder": str(folder), "writable": allowed[1:-1], "pth": pth,
              "status_fd": write_fd,
              "cwd": str(folder), "cpu": cpu_whole, "mem": None if mem is None else int(mem * 2 ** 20),
              "wall": wall, "argv": argv}
    cmd = (_unshare_prefix(offline) if ns else []) + [sys.executable, "-I", "-S", "-c", _INIT, json.dumps(config)]
    skip = {str(folder)}
    roots = _watch_roots([Path(w) for w in watch])
    before = _snapshot(roots, skip)
    with tempfile.TemporaryDirectory(prefix="lmverify-output-") as out_dir:
        out_path, err_path = Path(out_dir) / "stdout", Path(out_dir) / "stderr"
        skip.add(str(Path(out_dir).resolve()))
        t0 = time.perf_counter()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            try:
                proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=full_env,
                                        pass_fds=(write_fd,), start_new_session=True)
            except OSError as exc:
                os.close(read_fd)
                os.close(write_fd)
                raise SandboxError(f"cannot start the contained run of {argv[0]!r}: {exc}") from None
            os.close(write_fd)
            backstop: list[bool] = []

            def kill_group() -> None:  # the init did not end at its own wall-clock limit: end everything
                backstop.append(True)
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass

            timer = threading.Timer(wall + _GRACE, kill_group)
            timer.daemon = True
            timer.start()
            try:
                proc.wait()  # a blocking wait: Popen.wait(timeout) polls with sleeps of up to 50 ms
            finally:
                timer.cancel()
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                proc.wait()
        seconds = time.perf_counter() - t0
        with os.fdopen(read_fd, "rb") as f:
            raw = f.read()
        stdout = out_path.read_text(encoding="utf-8", errors="replace")
        stderr = err_path.read_text(encoding="utf-8", errors="replace")
    after = _snapshot(roots, skip)
    try:
        report = json.loads(raw) if raw else {}
    except ValueError:
        report = {}
    if not report and not backstop and ns and stderr.startswith("unshare:"):
        # the namespaces worked when probed but not now (e.g. too many user namespaces at once): run it again
        # without them rather than call the code failed
        return run_contained(argv, cwd=cwd, cpu_seconds=cpu, memory_mib=mem, wall_seconds=wall, env=env,
                             offline=offline, writable=writable, watch=watch, python_paths=python_paths,
                             _mode="fallback")
    if "setup_error" in report:
        raise SandboxError(f"the contained run of {argv[0]!r} could not be set up ({mode}): {report['setup_error']}")

    def lines(name: str) -> list[str]:
        try:
            return [ln for ln in Path(logs[name]).read_text(encoding="utf-8", errors="replace").splitlines() if ln]
        except OSError:
            return []

    network = lines("NETLOG")
    refused = [f"{w} refused" for w in lines("WRITELOG")]
    memory = lines("MEMLOG")
    changed = _changed(before, after)
    writes, meanwhile = (refused, changed) if ns else (refused + changed, [])
    rc = int(report.get("returncode", proc.returncode if proc.returncode is not None else -9))
    cpu_used = float(report.get("cpu", 0.0))
    run = ContainedRun(argv, rc, stdout, stderr, cpu_used, seconds, "ok", writes_outside=writes,
                       network_attempts=network, leftover_processes=int(report.get("leftover", 0)),
                       isolation=mode, changed_meanwhile=meanwhile, memory_error=memory[-1] if memory else "")
    if backstop or report.get("timed_out") or not report:
        run.status = "wall_limit"
        run.reason = (f"still running after the wall-clock backstop of {wall:g} s (CPU limit {cpu:g} s)" if
                      backstop or report.get("timed_out") else "the runner's init ended without a report")
        if not report and not backstop:
            run.status = "failed"
    elif rc == -signal.SIGXCPU or (rc == -signal.SIGKILL and cpu_used >= 0.9 * cpu_whole):
        run.status, run.reason = "cpu_limit", f"stopped at its CPU-time limit of {cpu_whole:g} s"
    elif rc != 0 and memory:
        run.status, run.reason = "memory_limit", (f"ran out of memory under its limit of {mem:g} MiB "
                                                  f"({memory[-1]})" if mem else f"ran out of memory ({memory[-1]})")
    elif rc != 0:
        run.status, run.reason = "failed", (f"ended by signal {signal.Signals(-rc).name}" if rc < 0 and
                                            -rc in signal.valid_signals() else f"exit status {rc}")
    if writes:
        run.reason = "; ".join(x for x in [run.reason, "wrote outside its folder: " + ", ".join(writes[:5])
                                           + (f" and {len(writes) - 5} more" if len(writes) > 5 else "")] if x)
        if run.status == "ok":
            run.status = "failed"
    if report.get("still_running"):
        still = f"{report['still_running']} process(es) could not be ended"
        run.reason = "; ".join(x for x in [run.reason, still] if x)
    return run
