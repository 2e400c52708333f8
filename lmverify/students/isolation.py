"""The student's functions run in a process of their own; results come back as data and are compared here.

Why: a student's module imported into the suite's process can replace the comparison
(``lmverify.check.assert_close``), NumPy's functions, the references, or read the expected value from the
caller's frames, and ``os._exit(0)`` ends pytest with status 0. In a process of its own it can do all of
that only to its own copy, which holds no expected value, and whatever it does the suite compares the
returned numbers itself, in its own process, with its own code.

Processes
  *zygote*   forked from the suite's process once, by :func:`prepare` (the pytest plugin calls it in
             ``pytest_configure`` under ``--impl``: after the imports of NumPy, torch and the project, before
             collection computes anything), or at the first student call where nothing prepared it. It only
             forks: it never imports or runs a student's code, so every student's process starts from that
             clean copy, also when one is restarted in the middle of a run.
  *carrier*  forked by the zygote for one student's process: it leaves the suite's session, enters new
             user, PID and network namespaces (and a mount namespace in which every file system but the
             student's private folder is read-only) where Linux allows it, forks the student's process, tells
             the suite its process id, waits for it and reports how it ended (exit status or signal).
  *student*  the student's process (PID 1 of its PID namespace: when it ends, the kernel ends every process
             it started). It closes every inherited file descriptor, limits its memory (``RLIMIT_AS``), CPU
             time (``RLIMIT_CPU``) and file size (``RLIMIT_FSIZE``), works in a private temporary folder (its
             cwd; the student's folder goes on ``sys.path``), sends its output to a file there, imports the
             module, and answers "describe NAME" and "call NAME(args, kwargs)" requests.

Containment, best first: namespaces (user + PID + network + read-only mounts); where the kernel refuses a
namespace, that part falls back: without a network namespace a socket guard refuses every connection made
by Python code; without a PID namespace the student's process group is ended with it (a grandchild that
leaves the group can outlive the run). :func:`containment` says which applies.

Limits and outcomes (all named failures of the test, never a green run nor a silent exit)
  - the per-call time limit (``StudentModule.call_seconds``, ``--impl-timeout``) is the suite's wait for the
    answer: past it the student's process is killed, the function is not called again in this run, and the
    next call of another function starts a new process;
  - the student's process ending during a call (``os._exit``, a signal, the memory limit's kill) names the
    exit status or the signal; an ending while the module is imported fails every test that needs it;
  - an exception comes back with its type (builtin types as themselves, so ``pytest.raises(ValueError)``
    still works), message, and the innermost frames in the student's own files (file, line, source line);
    ``NotImplementedError`` skips the test as before; ``sys.exit`` is a failure naming it.
"""

from __future__ import annotations

import atexit
import builtins
import ctypes
import os
import pickle
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from lmverify.students import wire
from lmverify.students.loading import ImplError, ImplFailure, NotCovered, SkipImpl, WrongReturn, signature_from_data

#: student processes alive at once (per suite process); the least recently used one is ended past this. At
#: least one per topic: a test's setup touches every --impl module (one per topic: six), and with fewer places
#: than modules the least-recently-used rule ended and restarted a process at every test (4 places: 20 s of
#: forking for 199 skipped tests of six starters, against 2 s)
MAX_LIVE = 8

#: CPU seconds a student's process may use in all (its calls are limited one by one by the wall clock; this
#: ends a process that a background thread keeps busy)
CPU_SECONDS = 3600

#: bytes a student's process may write to one file (its printing included)
OUTPUT_BYTES = 16 * 1024 * 1024

#: characters of the student's printing passed on per call (to the test's captured stdout)
OUTPUT_CHARS = 20_000

#: seconds the suite waits for a student's process to answer what it needs before a call (process start)
START_SECONDS = 30.0

_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE = 1, 4
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 1, 2, 4, 8
_MS_REMOUNT, _MS_BIND, _MS_REC, _MS_PRIVATE = 32, 4096, 16384, 1 << 18
_MS_NOATIME, _MS_NODIRATIME, _MS_RELATIME, _MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24

#: exception types that come back as themselves beyond the builtins (module, name)
_PASSED_THROUGH = {("numpy.linalg", "LinAlgError"), ("numpy.linalg.linalg", "LinAlgError"),
                   ("hypothesis.errors", "UnsatisfiedAssumption")}


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> None:
    try:
        _libc().prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


# == the suite's side ======================================================================================

class _Zygote:
    """The clean process that forks every student's process (see the module docstring)."""

    def __init__(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        owner = os.getpid()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        pid = os.fork()
        if pid == 0:  # the zygote
            try:
                parent.close()
                _zygote_main(child, owner)
            finally:
                os._exit(0)
        child.close()
        self.pid, self.sock, self.owner = pid, parent, owner

    def spawn(self, job: dict) -> tuple[socket.socket, socket.socket]:
        data_here, data_there = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        stat_here, stat_there = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            socket.send_fds(self.sock, [pickle.dumps(job)], [data_there.fileno(), stat_there.fileno()])
        finally:
            data_there.close()
            stat_there.close()
        return data_here, stat_here

    def close(self) -> None:
        try:
            self.sock.close()  # the zygote ends every carrier it has and exits
        except OSError:
            pass
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


_ZYGOTE: _Zygote | None = None
#: the students' processes started and not yet closed (held here until closed: the least recently used past
#: MAX_LIVE is closed when another starts, and :func:`shutdown` closes the rest)
_LIVE: "dict[int, StudentProcess]" = {}
_CALLS = [0]  # calls made of any student's function in this process (the plugin counts per test)
#: the names of the students' functions called in this process since the plugin last cleared it (per test)
CALLED: set[str] = set()
#: the inputs the students' code declined in this process (the reasons, in order; the plugin reads its growth
#: per test to list a test's declined inputs apart)
DECLINED: list[str] = []


def prepare(protect: bool = False) -> None:
    """Fork the zygote now, from this (clean) state. Idempotent; a fork after a fork starts its own.

    ``protect`` (the pytest plugin under ``--impl``): make this process non-dumpable, so that a student's
    process of the same user cannot read this one's memory through ``/proc/PID/mem`` (its PID namespace already
    hides this process from ``kill`` and ``ptrace``; the read-only mounts already refuse writing there)."""
    global _ZYGOTE
    if _ZYGOTE is None or _ZYGOTE.owner != os.getpid():
        _ZYGOTE = _Zygote()
        atexit.register(shutdown)
    if protect:
        _prctl(_PR_SET_DUMPABLE, 0)


def shutdown() -> None:
    """End every student's process and the zygote (the plugin calls it before results are written)."""
    global _ZYGOTE
    for proc in list(_LIVE.values()):
        proc.close()
    if _ZYGOTE is not None and _ZYGOTE.owner == os.getpid():
        _ZYGOTE.close()
    _ZYGOTE = None


def count_call(name: str = "") -> None:
    """One call of a student's function made in this process (an in-process, trusted module's; see calls_made)."""
    _CALLS[0] += 1
    if name:
        CALLED.add(name)


def calls_made() -> int:
    """How many calls of students' functions this process has made so far."""
    return _CALLS[0]


def containment() -> str:
    """What contains a student's process on this machine (started once to find out)."""
    proc = _LIVE_ANY()
    return proc.containment if proc is not None else "not started"


def _LIVE_ANY() -> "StudentProcess | None":  # noqa: N802
    for p in _LIVE.values():
        if p.containment:
            return p
    return None


class _Handle:
    """One running student's process, as the suite sees it."""

    def __init__(self, data: socket.socket, stat: socket.socket, folder: str) -> None:
        self.data, self.stat, self.folder = data, stat, folder
        self.pid: int | None = None
        self.containment = ""
        self.ended: str | None = None  # how it ended, once known

    def read_pid(self, deadline: float) -> None:
        msg = pickle.loads(wire.recv_frame(self.stat, deadline))  # the carrier is the suite's code: trusted
        self.pid, self.containment = msg[1], msg[2]

    def how_it_ended(self, wait: float = 5.0) -> str:
        """'exit status N' or 'signal SIGX' (from the carrier), once the process has ended."""
        if self.ended is None:
            try:
                msg = pickle.loads(wire.recv_frame(self.stat, time.monotonic() + wait))
            except (wire.WireError, pickle.UnpicklingError, EOFError):
                msg = ("unknown",)
            if msg[0] == "exit":
                self.ended = f"exit status {msg[1]}"
            elif msg[0] == "signal":
                try:
                    self.ended = f"signal {signal.Signals(msg[1]).name}"
                except ValueError:
                    self.ended = f"signal {msg[1]}"
            else:
                self.ended = "an unknown status"
        return self.ended

    def kill(self) -> None:
        if self.pid is not None:
            for kill in (lambda: os.kill(self.pid, signal.SIGKILL), lambda: os.killpg(self.pid, signal.SIGKILL)):
                try:
                    kill()
                except (ProcessLookupError, PermissionError):
                    pass

    def close(self) -> None:
        self.kill()
        if self.pid is not None:
            self.how_it_ended(2.0)
        for s in (self.data, self.stat):
            try:
                s.close()
            except OSError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


class StudentProcess:
    """The suite's proxy for one student's module: ``describe(name)`` and ``call(name, args, kwargs)``."""

    def __init__(self, student: Any) -> None:
        self.student = student
        self.spec: str = student.spec
        self.handle: _Handle | None = None
        self.containment = ""
        self._described: dict[str, tuple] = {}
        self._import: tuple | None = None  # ("ok",) | ("error", message) | ("ended", message) | ("slow", message)
        self._import_reported = False
        self._broken: dict[str, str] = {}  # function -> the failure that ended its process (not called again)
        self.restarts = 0
        self.last_used = time.monotonic()

    # -- the process ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the student's process (it begins importing the module at once) unless one runs."""
        if self.handle is not None:
            return
        _LIVE[id(self)] = self
        global _ZYGOTE
        if _ZYGOTE is None or _ZYGOTE.owner != os.getpid():
            prepare()
        assert _ZYGOTE is not None
        live = sorted((p for p in _LIVE.values() if p.handle is not None and p is not self), key=lambda p: p.last_used)
        for p in live[: max(0, len(live) - MAX_LIVE + 1)]:
            p.close()
        folder = os.path.realpath(tempfile.mkdtemp(prefix="lmverify-student-"))
        path = Path(self.spec)
        resolved = str(path.resolve()) if (self.spec.endswith(".py") or path.exists()) else self.spec
        job = {"spec": self.spec, "path": resolved, "invoked_in": os.getcwd(), "folder": folder,
               "array_api": self.student.array_api, "memory_mib": float(self.student.memory_mib),
               "cpu_seconds": CPU_SECONDS, "output_bytes": OUTPUT_BYTES}
        try:
            data, stat = _ZYGOTE.spawn(job)
        except OSError as exc:
            # the zygote is gone (a student's process can end it only where no PID namespace hides it): a new one
            # forked from here would copy this process as it is now, expected values included, so none is
            shutil.rmtree(folder, ignore_errors=True)
            raise ImplFailure(f"{self.spec}: the process that starts students' processes has ended ({exc}); no "
                              "student's function can run safely for the rest of this run") from None
        self.handle = _Handle(data, stat, folder)

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        _LIVE.pop(id(self), None)

    def ready(self) -> None:
        """Wait until the module is imported in the student's process: ImplError (once, then SkipImpl) for an
        import that failed or took too long, ImplFailure for one that ended the process."""
        self._ready()

    def _ready(self) -> _Handle:
        """The running process with the module imported, or the import's failure raised (once in full)."""
        if self._import is not None and self._import[0] != "ok":
            self._raise_import_failure()
        if self.handle is None:
            self.start()
            if self._import is not None:
                self.restarts += 1
        h = self.handle
        assert h is not None
        limit = max(float(self.student.call_seconds), 0.0)
        if h.pid is None:
            try:
                h.read_pid(time.monotonic() + START_SECONDS)
                self.containment = h.containment
            except (wire.WireError, EOFError, pickle.UnpicklingError) as exc:
                self._forget()
                raise ImplFailure(f"{self.spec}: the suite could not start the student's process ({exc})") from None
        if getattr(h, "loaded", False):
            return h
        try:
            reply = self._receive(h, time.monotonic() + limit)
        except wire.PeerStalled:
            self._forget()
            self._import = ("slow", f"--impl {self.spec!r}: importing the module took longer than {limit:g} s (an "
                                    "endless loop or a long computation at import; put script code under "
                                    "`if __name__ == '__main__':`)")
            self._raise_import_failure()
        except wire.PeerClosed:
            how = h.how_it_ended()
            self._forget()
            self._import = ("ended", f"--impl {self.spec!r}: importing the module ended the student's process with "
                                     f"{_how(how)}; a module must not exit when it is imported (put script code "
                                     "under `if __name__ == '__main__':`)")
            self._raise_import_failure()
        except wire.WireError as exc:
            self._forget()
            raise ImplFailure(f"{self.spec}: the student's process answered with something else than its module "
                              f"({exc})") from None
        if reply[0] == "loaded":
            h.loaded = True  # type: ignore[attr-defined]
            self._import = ("ok",)
            return h
        self._forget()
        self._import = ("error", str(reply[1]) if len(reply) > 1 else "the import failed")
        self._raise_import_failure()
        raise AssertionError("unreachable")  # pragma: no cover

    def _raise_import_failure(self) -> None:
        kind, message = self._import  # type: ignore[misc]
        first = not self._import_reported
        self._import_reported = True
        if kind == "ended":  # a failure of every test that needs the module: in full once, then briefly
            if first:
                raise ImplFailure(message)
            raise ImplFailure(f"{self.spec}: importing the module ended the student's process (reported in full in "
                              "the first test that used it)")
        if first:
            raise ImplError(message)
        raise SkipImpl(f"{self.spec} failed to import (reported once, in the first test that used it): {message}")

    def _forget(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def _receive(self, h: _Handle, deadline: float) -> tuple:
        reply = wire.loads_untrusted(wire.recv_frame(h.data, deadline))
        if type(reply) is not tuple or not reply or type(reply[0]) is not str:
            raise wire.WireError("a malformed reply")
        out = reply[-1] if len(reply) >= 2 and type(reply[-1]) is str and reply[0] != "import_error" else ""
        if out:
            sys.stdout.write(out)
        return reply

    def _request(self, message: tuple, limit: float) -> tuple:
        h = self._ready()
        self.last_used = time.monotonic()
        deadline = time.monotonic() + limit
        wire.send_frame(h.data, wire.dumps_plain(message), deadline)
        return self._receive(h, deadline)

    # -- the module's functions --------------------------------------------------------------------------
    def describe(self, name: str, topic: str | None = None) -> tuple[bool, bool, str, Any]:
        """(defined, callable, type name, inspect.Signature or None) of the module's attribute ``name`` (or of
        the function its declared conventions name for it, :mod:`lmverify.students.conventions`)."""
        if name in self._described:
            return self._described[name]
        try:
            reply = self._request(("describe", name, topic), max(float(self.student.call_seconds), 5.0))
        except (wire.PeerStalled, wire.PeerClosed, wire.WireError) as exc:
            how = self.handle.how_it_ended(1.0) if isinstance(exc, wire.PeerClosed) and self.handle else ""
            self._forget()
            raise ImplFailure(f"{self.spec}: the student's process did not describe {name} ("
                              f"{_how(how) if how else exc})") from None
        if reply and reply[0] == "badconvention" and len(reply) >= 2:
            raise ImplFailure(f"{self.spec}: {_text(reply[1])}")
        if len(reply) < 5 or reply[0] != "described" or type(reply[1]) is not bool or type(reply[2]) is not bool \
                or type(reply[3]) is not str:
            self._forget()
            raise ImplFailure(f"{self.spec}: the student's process answered 'describe {name}' with something else")
        try:
            sig = signature_from_data(reply[4])
        except (ValueError, TypeError):
            sig = None
        self._described[name] = (reply[1], reply[2], reply[3], sig)
        return self._described[name]

    def _fail_again(self, name: str) -> None:
        """The failure of a function that ended or outran its process, raised from this one place, the first time
        and every later time (hypothesis, replaying the input, then sees one failure, not two or a flaky one)."""
        __tracebackhide__ = True
        raise ImplFailure(self._broken[name])

    def call(self, name: str, args: tuple, kwargs: dict, topic: str | None = None) -> Any:
        """``name(*args, **kwargs)`` in the student's process; the result decoded here (see the module docstring)."""
        __tracebackhide__ = True
        if name in self._broken:
            self._fail_again(name)
        _CALLS[0] += 1
        CALLED.add(name)
        limit = float(self.student.call_seconds)
        what = f"{self.spec}: {name}"
        try:
            message = ("call", name, wire.encode(tuple(args)), wire.encode(dict(kwargs)), topic)
        except wire.Unencodable:
            message = ("call_pickled", name, pickle.dumps((tuple(args), dict(kwargs))), None, topic)
        reply: tuple = ()
        try:
            reply = self._request(message, limit)
        except wire.PeerStalled:
            self._forget()
            self._broken[name] = (f"{what} ran past the time limit of {limit:g} s per call (an infinite loop, or a "
                                  "loop far slower than the equation needs); in this run it is not called again")
        except wire.PeerClosed:
            how = self.handle.how_it_ended() if self.handle is not None else "an unknown status"
            self._forget()
            self._broken[name] = (f"{what}: your {name} ended the student's process with {_how(how)} during the call; "
                                  "the suite restarted it (for the other functions); in this run "
                                  f"{name} is not called again")
        except wire.WireError as exc:
            self._forget()
            raise ImplFailure(f"{what}: the student's process sent back something that is not a result ({exc})") \
                from None
        if name in self._broken:  # raised outside the handlers: the same failure, with no exception as context
            self._fail_again(name)
        kind = reply[0]
        if kind == "ok" and len(reply) == 3:
            try:
                return wire.decode(reply[1])
            except wire.WireError as exc:
                raise ImplFailure(f"{what}: {exc}") from None
        if kind == "notimpl":
            raise SkipImpl(f"{self.spec}: {name} raises NotImplementedError ({reply[1]}); implement it")
        if kind == "notsupported" and len(reply) == 3:
            DECLINED.append(f"{self.spec}: {name} declined an input ({_text(reply[1])})")
            raise NotCovered(f"not covered: {DECLINED[-1]}")
        if kind == "badconvention" and len(reply) == 3:
            raise ImplFailure(f"{self.spec}: {_text(reply[1])}")
        if kind == "sysexit":
            raise ImplFailure(f"{self.spec}: {name} called sys.exit({reply[1]}) instead of returning")
        if kind == "mutated" and len(reply) == 3 and isinstance(reply[1], list):
            names = ", ".join(f"`{_text(n)}`" for n in reply[1])
            raise ImplFailure(f"{what} changed its input {names} in place (e.g. `x -= x.max()` or `x[...] = ...` "
                              "on an argument): the caller's array is not yours to change; compute on a copy "
                              "(`x = x - x.max()`)")
        if kind == "wrongreturn":
            raise WrongReturn(f"your {name} returned {reply[1]}, which the suite cannot compare; expected what the "
                              "reference returns: a NumPy array or a number (or a tuple of them)")
        if kind == "raised" and len(reply) == 3 and type(reply[1]) is dict:
            raise _rebuild(reply[1])
        raise ImplFailure(f"{what}: the student's process answered with something else than a result")


def _how(how: str) -> str:
    if how.startswith("exit status "):
        code = how.split()[-1]
        return f"exit status {code} (os._exit({code}), or the interpreter ended)"
    if how == "signal SIGKILL":
        return "signal SIGKILL (killed: past the memory limit, or by the system's out-of-memory killer)"
    if how == "signal SIGXCPU":
        return f"signal SIGXCPU (past the limit of {CPU_SECONDS} s of CPU time)"
    return how


class StudentException(Exception):
    """An exception of the student's whose constructor does not take a message alone."""


_REBUILT: dict[tuple[str, str, type], type] = {}


def _rebuild(info: dict) -> BaseException:
    """The student's exception, rebuilt here from plain data: builtin types (and a few others) as themselves."""
    name = str(info.get("type", "Exception"))[:200]
    module = str(info.get("module", ""))[:200]
    message = str(info.get("message", ""))[:5000]
    tb = str(info.get("traceback", ""))[:5000]
    cls: Any = None
    if module == "builtins":
        cls = getattr(builtins, name, None)
    elif (module, name) in _PASSED_THROUGH:
        try:
            import importlib

            cls = getattr(importlib.import_module(module), name, None)
        except ImportError:
            cls = None
    if not (isinstance(cls, type) and issubclass(cls, Exception)) or cls in (StopIteration, StopAsyncIteration):
        bases = [getattr(builtins, b, None) for b in info.get("bases", []) if type(b) is str]
        base = next((b for b in bases if isinstance(b, type) and issubclass(b, Exception)
                     and b not in (StopIteration, StopAsyncIteration)), Exception)
        short = name.rsplit(".", 1)[-1]  # a class defined in a function: 'f.<locals>.ShapeError'
        key = (module or "student", short if short.isidentifier() else "StudentException", base)
        cls = _REBUILT.get(key)
        if cls is None:  # one class per (module, name, base): hypothesis tells failures apart by their type,
            # so a new class per call made every failing example a "distinct failure" it could not shrink
            cls = type(key[1], (base,), {"student_type": True})
            cls.__module__ = key[0]
            _REBUILT[key] = cls
    try:
        exc = cls(message)
    except Exception:  # noqa: BLE001 - a constructor with other arguments: the message alone, as our own type
        exc = StudentException(f"{name}: {message}")
    exc.student_traceback = tb  # type: ignore[attr-defined]
    if tb:
        exc.add_note(tb)
    return exc


# == the zygote ============================================================================================

def _zygote_main(sock: socket.socket, owner: int) -> None:
    """Fork a carrier per request until the suite's process closes the socket; then end every carrier."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(_PR_SET_DUMPABLE, 0)
    if os.getppid() != owner:
        os._exit(0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for pytest, which ends the zygote on its way out
    carriers: set[int] = set()
    while True:
        ready, _, _ = select.select([sock], [], [], 1.0)
        _reap(carriers)
        if not ready:
            continue
        try:
            msg, fds, _, _ = socket.recv_fds(sock, 1 << 16, 2)
        except OSError:
            break
        if not msg:
            break
        try:
            job = pickle.loads(msg)  # from the suite's process: trusted
        except Exception:  # noqa: BLE001
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                _carrier(job, fds[0], fds[1])
            finally:
                os._exit(70)
        carriers.add(pid)
        for fd in fds:
            os.close(fd)
    for pid in carriers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _reap(carriers, block=True)


def _reap(pids: set[int], block: bool = False) -> None:
    for pid in list(pids):
        try:
            done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            pids.discard(pid)


# == the carrier ===========================================================================================

def _carrier(job: dict, data_fd: int, stat_fd: int) -> None:
    """Leave the suite's session, enter the namespaces, fork the student's process, report how it ended."""
    os.setsid()
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    contained = _enter_namespaces(job["folder"])
    stat = socket.socket(fileno=stat_fd)
    try:
        pid = os.fork()
    except OSError:
        wire.send_frame(stat, pickle.dumps(("pid", None, contained)))
        os._exit(71)
    if pid == 0:
        try:
            stat.close()
            _student_main(job, data_fd, contained)
        finally:
            os._exit(70)
    os.close(data_fd)
    try:
        wire.send_frame(stat, pickle.dumps(("pid", pid, contained)))
    except wire.WireError:
        pass
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except InterruptedError:
            continue
        except ChildProcessError:
            status = 0
            break
    end = ("signal", os.WTERMSIG(status)) if os.WIFSIGNALED(status) else ("exit", os.waitstatus_to_exitcode(status))
    if "pid" not in contained:  # no PID namespace: end what the student's process group left behind
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        wire.send_frame(stat, pickle.dumps(end), time.monotonic() + 5)
    except wire.WireError:
        pass
    os._exit(0)


def _enter_namespaces(folder: str) -> str:
    """Unshare user + PID + network (+ mount) namespaces as far as the kernel allows; say which were entered."""
    libc = _libc()
    uid, gid = os.getuid(), os.getgid()
    entered: list[str] = []
    for flags, names in ((_CLONE_NEWUSER | _CLONE_NEWNS | _CLONE_NEWPID | _CLONE_NEWNET, ["user", "mount", "pid", "net"]),
                         (_CLONE_NEWUSER | _CLONE_NEWPID | _CLONE_NEWNET, ["user", "pid", "net"]),
                         (_CLONE_NEWUSER | _CLONE_NEWNET, ["user", "net"])):
        try:
            if libc.unshare(flags) == 0:
                entered = names
                break
        except (OSError, AttributeError):
            break
    if "user" in entered:
        for path, text in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", f"{uid} {uid} 1"),
                           ("/proc/self/gid_map", f"{gid} {gid} 1")):
            try:
                with open(path, "w") as f:
                    f.write(text)
            except OSError:
                pass
    if "mount" in entered:
        if _read_only_except(folder, libc):
            entered.append("read-only files")
    return "+".join(entered) if entered else "none"


def _read_only_except(folder: str, libc: Any) -> bool:
    """In the new mount namespace: every mount read-only, except ``folder`` (bound on itself, writable)."""
    def mount(src: str | None, target: str, flags: int) -> bool:
        return libc.mount(src.encode() if src else None, target.encode(), None, ctypes.c_ulong(flags), None) == 0

    if not mount(None, "/", _MS_REC | _MS_PRIVATE) or not mount(folder, folder, _MS_BIND):
        return False
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return False
    ok = True
    keep = {"nosuid": _MS_NOSUID, "nodev": _MS_NODEV, "noexec": _MS_NOEXEC, "noatime": _MS_NOATIME,
            "nodiratime": _MS_NODIRATIME, "relatime": _MS_RELATIME, "strictatime": _MS_STRICTATIME}
    for line in lines:
        parts = line.split()
        if len(parts) < 6:
            continue
        target = parts[4].encode().decode("unicode_escape")
        if target == folder:
            continue
        flags = _MS_REMOUNT | _MS_BIND | _MS_RDONLY
        for opt in parts[5].split(","):
            flags |= keep.get(opt, 0)
        if not mount(None, target, flags) and target in ("/", str(Path.cwd().anchor)):
            ok = False
    return ok


# == the student's process =================================================================================

def _student_main(job: dict, data_fd: int, contained: str) -> None:
    """Limit, import the module, then answer requests until the suite closes the connection. Never returns."""
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGALRM, signal.SIGCHLD):
        try:
            signal.signal(sig, signal.SIG_IGN if sig in (signal.SIGPIPE, signal.SIGXFSZ) else signal.SIG_DFL)
        except (OSError, ValueError):
            pass
    signal.setitimer(signal.ITIMER_REAL, 0)
    folder = job["folder"]
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    out = os.open(os.path.join(folder, ".output"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.closerange(3, data_fd)
    os.closerange(data_fd + 1, 1 << 16)
    sock = socket.socket(fileno=data_fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False, errors="replace")
    sys.stderr = open(2, "w", buffering=1, closefd=False, errors="replace")
    sys.stdin = open(0, "r", closefd=False)
    os.chdir(folder)
    os.environ["HOME"] = folder
    os.environ["TMPDIR"] = folder
    tempfile.tempdir = folder
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"
    _limit(job)
    if "net" not in contained:
        _socket_guard()
    if "torch" in sys.modules:
        try:
            sys.modules["torch"].set_num_threads(1)
        except Exception:  # noqa: BLE001
            pass
    reader = _OutputReader(os.path.join(folder, ".output"))
    spec, path = job["spec"], Path(job["path"])
    student_files: list[str] = []
    if path.is_absolute():
        sys.path.insert(0, str(path.parent))
        student_files.append(str(path.parent))
    else:  # a dotted name: importable from where pytest was started, as in the suite's process
        sys.path.insert(0, job["invoked_in"])
    from lmverify.students.loading import load_student_module

    try:
        module = load_student_module(str(path) if path.is_absolute() else spec, label=spec)
    except ImplError as exc:
        _send(sock, ("import_error", str(exc)))
        os._exit(0)
    except BaseException as exc:  # noqa: BLE001 - the student's import may raise anything
        _send(sock, ("import_error", f"--impl {spec!r}: importing the module failed: {type(exc).__name__}: {exc}"))
        os._exit(0)
    mod_file = getattr(module, "__file__", None)
    if mod_file:
        student_files.append(str(Path(mod_file).resolve().parent))
    _send(sock, ("loaded", reader.take()))
    plans: dict = {}  # the declared conventions of each suite function, checked once (students.conventions)
    while True:
        try:
            frame = wire.recv_frame(sock)
        except wire.WireError:
            os._exit(0)
        request = pickle.loads(frame)
        if request[0] == "describe":
            reply = _describe(module, request, plans)
        else:
            reply = _call(module, request, student_files, plans)
        try:
            _send(sock, reply + (reader.take(),))
        except wire.Unencodable as exc:  # pragma: no cover - _call encodes already
            _send(sock, ("wrongreturn", str(exc), reader.take()))


def _describe(module: Any, request: tuple, plans: dict) -> tuple:
    """Whether the module implements the suite function (itself, or through a declaration), and its signature
    where it is the function of that name called as it is (a declared one is checked by its declaration)."""
    from lmverify.students import conventions
    from lmverify.students.loading import signature_data

    name = request[1]
    topic = request[2] if len(request) > 2 and isinstance(request[2], str) else None
    try:
        defined, is_callable, type_name, is_declared = conventions.describe(module, topic, name, plans)
    except conventions.ConventionError as exc:
        return ("badconvention", _text(exc))
    except Exception as exc:  # noqa: BLE001 - a declaration whose objects misbehave (a property that raises)
        return ("badconvention", f"{conventions.DECLARATION}[{name!r}]: {type(exc).__name__}: {_text(exc)}")
    f = getattr(module, name, None)
    return ("described", defined, is_callable, type_name,
            signature_data(f) if callable(f) and not is_declared else None)


def _invoke_checked(fn: Any, args: tuple, kwargs: dict) -> Any:
    """The student's function called on what it is given; an argument changed in place is named."""
    from lmverify.students.conventions import InputChanged

    before = _snapshot(fn, args, kwargs)
    result = fn(*args, **kwargs)
    changed = _changed(before)
    if changed:
        raise InputChanged(changed)
    return result


def _call(module: Any, request: tuple, student_files: list[str], plans: dict | None = None) -> tuple:
    from lmverify.students import conventions

    name = request[1]
    if request[0] == "call_pickled":
        args, kwargs = pickle.loads(request[2])
    else:
        args, kwargs = wire.decode(request[2]), wire.decode(request[3])
    topic = request[4] if len(request) > 4 and isinstance(request[4], str) else None
    try:
        result = conventions.run(module, topic, name, args, kwargs, {} if plans is None else plans,
                                 _invoke_checked)
    except conventions.InputChanged as exc:
        return ("mutated", [_text(n) for n in exc.names])
    except conventions.NotSupported as exc:
        return ("notsupported", _text(exc))
    except conventions.ConventionError as exc:
        return ("badconvention", _text(exc))
    except NotImplementedError as exc:
        return ("notimpl", _text(exc))
    except SystemExit as exc:
        return ("sysexit", _text(repr(exc.code)))
    except BaseException as exc:  # noqa: BLE001 - everything the student's code raises goes back as data
        return ("raised", _exception_info(exc, student_files))
    try:
        return ("ok", wire.encode(result))
    except wire.Unencodable as exc:
        return ("wrongreturn", f"{type(result).__name__} (containing {exc})" if str(exc) != _qual(result)
                else type(result).__name__)


def _snapshot(fn: Any, args: tuple, kwargs: dict) -> list[tuple[str, Any, Any]]:
    """(name, the argument, a copy of it) for each array argument of a call (NumPy arrays and torch tensors,
    also inside a top-level tuple or list): compared after the call, so that an input changed in place
    (``x -= x.max()``) is named instead of passing unnoticed."""
    import inspect

    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs).arguments
        named = list(bound.items())
    except (TypeError, ValueError):
        named = [(f"argument {i + 1}", a) for i, a in enumerate(args)] + list(kwargs.items())
    out = []
    for arg_name, value in named:
        items = [(arg_name, value)]
        if isinstance(value, (tuple, list)):
            items = [(f"{arg_name}[{i}]", v) for i, v in enumerate(value)]
        for label, v in items:
            copy = _copy_array(v)
            if copy is not None:
                out.append((label, v, copy))
    return out


def _copy_array(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.ndarray):
        return v.copy()
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(v, torch.Tensor):
        return v.detach().clone()
    return None


def _changed(snapshot: list[tuple[str, Any, Any]]) -> list[str]:
    """The names of the arguments whose values differ from their copies (NaN equal to NaN)."""
    import numpy as np

    out = []
    for label, value, copy in snapshot:
        try:
            now = value.detach().cpu().numpy() if hasattr(value, "detach") else np.asarray(value)
            was = copy.detach().cpu().numpy() if hasattr(copy, "detach") else np.asarray(copy)
            same = now.shape == was.shape and np.array_equal(now, was, equal_nan=now.dtype.kind in "fc")
        except Exception:  # noqa: BLE001 - an argument that can no longer be read was changed
            same = False
        if not same:
            out.append(label)
    return out


def _qual(x: Any) -> str:
    return f"{type(x).__module__}.{type(x).__qualname__}"


def _text(x: Any) -> str:
    try:
        return str(x)[:5000]
    except Exception:  # noqa: BLE001 - a __str__ that raises
        return f"<{type(x).__name__} whose str() fails>"


def _exception_info(exc: BaseException, student_files: list[str]) -> dict:
    cls = type(exc)
    bases = [c.__name__ for c in cls.__mro__ if c.__module__ == "builtins"]
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if any(str(Path(f.filename).resolve()).startswith(d + os.sep) for d in student_files)]
    tb = ""
    if frames:
        lines = [f'  File "{f.filename}", line {f.lineno}, in {f.name}\n    {(f.line or "").strip()}'
                 for f in frames[-3:]]
        tb = "In your code (innermost last):\n" + "\n".join(lines)
    return {"type": _text(cls.__qualname__), "module": _text(cls.__module__), "bases": bases,
            "message": _text(exc), "traceback": tb}


class _OutputReader:
    """What the student's code printed since the last call (the output file's new bytes, if it grew)."""

    def __init__(self, path: str) -> None:
        self.file = open(path, "rb")  # noqa: SIM115 - kept open for the process's life
        self.offset = 0

    def take(self) -> str:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            size = os.fstat(self.file.fileno()).st_size
            if size <= self.offset:
                return ""
            self.file.seek(self.offset)
            data = self.file.read(OUTPUT_CHARS + 1)
            self.offset = size
        except (OSError, ValueError):
            return ""
        text = data.decode("utf-8", "replace")
        return text[:OUTPUT_CHARS] + ("\n[... more output of the student's code left out]\n" if len(text) > OUTPUT_CHARS else "")


def _send(sock: socket.socket, message: tuple) -> None:
    wire.send_frame(sock, wire.dumps_plain(message))


def _limit(job: dict) -> None:
    """Memory: what the process has mapped now plus ``memory_mib``; CPU time; file size; no core files."""
    try:
        vm = 0
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                vm = int(line.split()[1]) * 1024
        if vm:
            limit = vm + int(job["memory_mib"] * 1024 * 1024)
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            if soft == resource.RLIM_INFINITY or limit < soft:
                resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (OSError, ValueError):
        pass
    for which, value in ((resource.RLIMIT_CPU, job["cpu_seconds"]), (resource.RLIMIT_FSIZE, job["output_bytes"]),
                         (resource.RLIMIT_CORE, 0)):
        try:
            soft, hard = resource.getrlimit(which)
            if soft == resource.RLIM_INFINITY or value < soft:
                resource.setrlimit(which, (value, hard if hard == resource.RLIM_INFINITY or hard >= value else value))
        except (OSError, ValueError):
            pass


def _socket_guard() -> None:
    """Without a network namespace: every connection by Python code is refused (the course's offline rule)."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("network access is refused to a student's code by lmverify (the suite runs offline)")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
