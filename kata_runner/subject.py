"""The subject: the only process that runs learner code, and the judge's handle on it.

A spec (the *judge*) never imports the learner's file. It asks a subject to run a *probe*, a small
function from the check module marked with `@probe`, on inputs the judge drew; the subject sends back
plain observations over `wire` (base tensors and Python primitives, never pickles); the judge computes
the expected values with its own torch and decides. Expected values and verdicts therefore never exist
in a process that runs learner code: frame inspection, tracing hooks, function modes, patched
references and always-equal return values all stay on the subject's side of a socket.

Process layout, per kata: when the `kata` fixture is set up (before any spec has computed anything) the
judge forks a *fork server*, a clean copy of itself that never runs learner code. Every subject is
forked from it, so a subject restarted after a crash or timeout never inherits a judge mid-spec. The
subject loads the learner's file and serves probe calls until the judge closes its socket. The fork
server waits for it and reports how it ended (exit code or signal).

`InlineSubject` runs the same probes in the judge's own process, through the same encoding, for
debuggers and IDEs (`--in-process`); it makes no integrity claim.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import io
import os
import random
import re
import select
import signal
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import torch

from kata_runner import wire

F = TypeVar("F", bound=Callable[..., Any])

PROBES: dict[str, Callable[..., Any]] = {}
OUTPUT_LIMIT = 4000
IMPORT_SECONDS = 10.0


def probe(function: F) -> F:
    """Mark a check-module function as a probe: it runs in the subject as `function(impl, *args, **kwargs)`
    where `impl` is the learner's module, and returns plain observations."""
    PROBES[_probe_name(function)] = function
    return function


def _probe_name(function: Callable[..., Any]) -> str:
    return f"{Path(function.__code__.co_filename).name}:{function.__qualname__}"


def _registered(function: Callable[..., Any]) -> str:
    """The name a probe is called by; a function not marked with @probe is the check author's mistake."""
    name = _probe_name(function)
    if name not in PROBES:
        raise TypeError(f"{function.__qualname__} is not marked with @probe")
    return name


# What encoding an observation can raise: the probe's value cannot be sent, which is the learner's problem.
UNSENDABLE = (wire.WireError, TypeError, ValueError, RuntimeError)


def looks_out_of_memory(type_name: str, message: str) -> bool:
    """MemoryError, or torch's allocator failing (what an address-space cap turns a runaway allocation into)."""
    return (type_name in ("MemoryError", "OutOfMemoryError") or "can't allocate memory" in message
            or "out of memory" in message)


# ------------------------------------------------------------------------------ what the judge sees


class SubjectStop(BaseException):
    """Ends a spec at once. A BaseException so that Hypothesis does not shrink on it: there is nothing
    smaller to find for a missing implementation, a crash or a timeout."""

    kind = "exception"


class LearnerNotImplemented(SubjectStop):
    kind = "not_implemented"


class SubjectTimeout(SubjectStop):
    kind = "timeout"


class SubjectCrashed(SubjectStop):
    kind = "crashed"


class SubjectExited(SubjectStop):
    kind = "exited"


class SubjectTampered(SubjectStop):
    kind = "tamper"


class SubjectOutOfMemory(SubjectStop):
    kind = "memory"


class SubjectLoadFailed(SubjectStop):
    kind = "load"


class SubjectMissing(SubjectLoadFailed):
    kind = "missing"


class NotRun(SubjectStop):
    """A later spec of a kata whose subject already timed out, ran out of memory, patched torch or
    could not be loaded: running it would only repeat that (slowly)."""

    kind = "not_run"


FATAL = (SubjectTimeout, SubjectOutOfMemory, SubjectTampered, SubjectLoadFailed)


class LearnerError(Exception):
    """Learner code raised while a probe ran. `types` is the exception's class hierarchy, by name."""

    def __init__(self, type_name: str, types: list[str], message: str, where: str, doing: str = "",
                 why: str = "") -> None:
        self.type_name, self.types, self.message, self.where, self.doing = type_name, types, message, where, doing
        head = f"{type_name}: {message}".splitlines()[0][:300].rstrip(".") if message else type_name
        text = f"{doing} raised {head}." if doing else f"{head}."
        super().__init__(f"{text} {why}" if why else text)


# ------------------------------------------------------------------------------ the subject process


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the process that forked it dies, so nothing outlives the judge."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _send(sock: socket.socket, message: dict[str, Any], value: Any = None) -> None:
    try:
        frame = wire.pack(message, value)
    except UNSENDABLE as exc:
        frame = wire.pack({"kind": "unsendable", "message": f"{type(exc).__name__}: {exc}"[:500]})
    sock.sendall(frame)


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    chunks = bytearray()
    while len(chunks) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                raise TimeoutError
        chunk = sock.recv(min(n - len(chunks), 1 << 20))
        if not chunk:
            raise EOFError
        chunks += chunk
    return bytes(chunks)


def _recv(sock: socket.socket, deadline: float | None = None) -> tuple[dict[str, Any], Any]:
    (length,) = struct.unpack("!Q", _recv_exact(sock, 8, deadline))
    if length > wire.MAX_HEADER_BYTES:
        raise wire.WireError("frame header too large")
    header = wire.unpack_header(_recv_exact(sock, length, deadline))
    blobs = [_recv_exact(sock, n, deadline) for n in header["blobs"]]
    return header, wire.decode(header.get("value"), blobs)


def describe_exception(exc: BaseException, impl_path: Path) -> dict[str, Any]:
    from kata_runner.failures import location_in

    where = location_in(traceback.extract_tb(exc.__traceback__), [impl_path]) or ""
    try:
        message = str(exc)
    except Exception:  # noqa: BLE001 - a learner's __str__ may itself raise
        message = "<unprintable>"
    return {
        "type": type(exc).__name__,
        "types": [cls.__name__ for cls in type(exc).__mro__],
        "message": message[:1000],
        "where": where,
    }


def reset_state(seed: int) -> None:
    """The state every probe (and every spec) starts from."""
    torch.default_generator.manual_seed(seed)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.manual_seed_all(seed)
    random.seed(seed)
    torch.set_default_dtype(torch.float32)
    torch.set_grad_enabled(True)


_calls = [0]


def call_probe(module: ModuleType, impl_path: Path, name: str, args: Any, kwargs: Any, seed: int) -> tuple[dict, Any]:
    """Run one probe; return the reply header and the value to send."""
    function = PROBES.get(name)
    if function is None:
        return {"kind": "unsendable", "message": f"no probe named {name!r}"}, None
    reset_state(seed)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = captured = io.StringIO()
    try:
        value = function(module, *args, **kwargs)
        reply: dict[str, Any] = {"kind": "value"}
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt from learner code too
        reply, value = {"kind": "raised", "error": describe_exception(exc, impl_path)}, None
    finally:
        sys.stdout, sys.stderr = stdout, stderr
    reply["output"] = captured.getvalue()[:OUTPUT_LIMIT]
    from kata_runner import tamper

    # A diagnostic, not the boundary: the full scan (about 2 ms) on a subject's first call, the
    # comparison functions after that.
    _calls[0] += 1
    changes = tamper.changes(full=_calls[0] == 1)
    if changes:
        reply = {"kind": "tamper", "message": tamper.message(changes)}
    return reply, value


def _subject_main(sock: socket.socket, impl_path: Path) -> None:
    code = 0
    try:
        _die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # A fork of a process whose OpenMP pool has run hangs in its first parallel region unless the
        # pool is rebuilt with one thread.
        torch.set_num_threads(1)
        from kata_runner.failures import KataMissing
        from kata_runner.plugin import load_implementation

        module = None
        status, refused = _confine(impl_path, sock)
        dump = os.fdopen(os.dup(sock.fileno()), "w")
        faulthandler.register(signal.SIGUSR1, file=dump, all_threads=True, chain=False)
        if refused:
            hello: dict[str, Any] = {"kind": "load_error", "missing": False, "message": refused}
        else:
            try:
                module = load_implementation(impl_path)
                hello = {"kind": "hello"}
            except Exception as exc:  # noqa: BLE001 - KataLoadError and KataMissing, described for the judge
                hello = {"kind": "load_error", "missing": isinstance(exc, KataMissing), "message": str(exc)}
        hello["sandbox"] = status
        _send(sock, hello)
        while module is not None:
            try:
                header, request = _recv(sock)
            except EOFError:
                break
            args, kwargs = request
            reply, value = call_probe(module, impl_path, str(header.get("probe")), args, kwargs,
                                      int(header.get("seed", 0)))
            _send(sock, reply, value)
    except BaseException:  # noqa: BLE001 - nothing may unwind into the judge's copied stack
        code = 70
    finally:
        os._exit(code)


def _confine(impl_path: Path, sock: socket.socket) -> tuple[str, str]:
    """Enter the sandbox (see sandbox.py): (its status, a reason to refuse to run the learner's code or "")."""
    from kata_runner import sandbox
    from kata_runner.registry import PROJECT_ROOT, state_dir

    wanted = sandbox.mode()
    if wanted == "off":
        return "off: KATA_SANDBOX=off", ""
    try:
        status = sandbox.confine(impl_path.parent, PROJECT_ROOT, state_dir(), (sock.fileno(),))
        if wanted == "require" and status != sandbox.ON:
            return status, f"KATA_SANDBOX=require, but only part of the sandbox is available here ({status})."
        return status, ""
    except sandbox.SandboxUnavailable as exc:
        if wanted == "require":
            return f"off: {exc}", f"KATA_SANDBOX=require, but the sandbox is not available here: {exc}."
        return f"off: {exc}", ""
    except sandbox.SandboxBroken as exc:
        return "broken", (f"the sandbox for your code could not be set up ({exc}); this is a problem with the "
                          "grading machine, not your code. Set KATA_SANDBOX=off to grade without it.")


def _close_inherited_fds(keep: int) -> None:
    """Drop every descriptor inherited from the judge (its report file, capture files, pipes), so
    learner code cannot write into the judge's channels through them."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 256))
    for fd in fds:
        if fd > 2 and fd != keep:
            with contextlib.suppress(OSError):
                os.close(fd)


def _fork_server_main(control: socket.socket, impl_path: Path) -> None:
    try:
        _die_with_parent()
        _close_inherited_fds(control.fileno())
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        while True:
            if not control.recv(16):
                break
            ours, theirs = socket.socketpair()
            pid = os.fork()
            if pid == 0:
                control.close()
                ours.close()
                _subject_main(theirs, impl_path)
            theirs.close()
            socket.send_fds(control, [struct.pack("!i", pid)], [ours.fileno()])
            ours.close()
            _, status = os.waitpid(pid, 0)
            control.sendall(struct.pack("!ii", pid, status))
    finally:
        os._exit(0)


# ------------------------------------------------------------------------------ the judge's handles


_finished_servers: list[int] = []


def _reap_finished() -> None:
    for pid in list(_finished_servers):
        with contextlib.suppress(ChildProcessError, OSError):
            if os.waitpid(pid, os.WNOHANG)[0] == 0:
                continue
        _finished_servers.remove(pid)


class Subject:
    """The judge's side of one kata's subject processes."""

    def __init__(self, impl_path: Path) -> None:
        self.impl_path = impl_path
        self.deadline: float | None = None  # set per spec by the plugin
        self._sock: socket.socket | None = None
        self._pid = 0
        self._fatal: SubjectStop | None = None
        self.sandbox: str | None = None  # "on", or "off: why", once a subject has started
        control, theirs = socket.socketpair()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the fork server
            control.close()
            _fork_server_main(theirs, impl_path)
        theirs.close()
        self._control = control
        self._server_pid = pid

    # -- lifecycle

    def _spawn(self) -> None:
        self._control.sendall(b"spawn")
        data, fds, _, _ = socket.recv_fds(self._control, 16, 1)
        (self._pid,) = struct.unpack("!i", data)
        self._sock = socket.socket(fileno=fds[0])
        try:
            header, _ = _recv(self._sock, self._deadline(IMPORT_SECONDS))
        except TimeoutError:
            where = self._where_stuck()
            self._kill()
            raise SubjectTimeout(f"importing your file did not finish within {IMPORT_SECONDS:g} s{where}.") from None
        except (EOFError, OSError, wire.WireError):
            raise self._ended("while your file was being imported") from None
        self.sandbox = str(header.get("sandbox", ""))[:300]
        if header.get("kind") == "load_error":
            self._kill()
            cls = SubjectMissing if header.get("missing") else SubjectLoadFailed
            raise cls(str(header.get("message")))

    def _deadline(self, fallback: float) -> float:
        return self.deadline if self.deadline is not None else time.monotonic() + fallback

    def _kill(self) -> int | None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGKILL)
        return self._reap()

    def _reap(self) -> int | None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        try:
            pid_status = _recv_exact(self._control, 8, time.monotonic() + 5)
        except (TimeoutError, EOFError, OSError):
            return None
        return int(struct.unpack("!ii", pid_status)[1])

    def _ended(self, when: str) -> SubjectStop:
        status = self._reap()
        if status is not None and os.WIFSIGNALED(status):
            name = signal.Signals(os.WTERMSIG(status)).name
            return SubjectCrashed(f"the process running your code crashed with {name} {when}.")
        code = os.WEXITSTATUS(status) if status is not None and os.WIFEXITED(status) else "unknown"
        return SubjectExited(
            f"the process running your code ended early (exit code {code}) {when}: "
            "an implementation must not call sys.exit or os._exit."
        )

    def _where_stuck(self) -> str:
        """Ask the subject's faulthandler where it is, and name the learner's line."""
        if self._sock is None:
            return ""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self._pid, signal.SIGUSR1)
        text = b""
        end = time.monotonic() + 1.0
        with contextlib.suppress(OSError):
            # The dump arrives in one burst; stop once the socket has been quiet for a moment.
            while time.monotonic() < end and select.select([self._sock], [], [], 0.2 if text else 1.0)[0]:
                chunk = self._sock.recv(65536)
                if not chunk:
                    break
                text += chunk
        name = re.escape(self.impl_path.name)
        found = re.findall(rf'File "([^"]*{name})", line (\d+) in (\w+)', text.decode("utf-8", "replace"))
        if not found:
            return ""
        from kata_runner.failures import _frame_line

        filename, line, func = found[0]
        return f", while running {_frame_line(filename, int(line), func)}"

    def close(self) -> None:
        """End the subject and the fork server without waiting for them (an exit that unmaps a few hundred
        MB takes 15 ms): both see their socket close and leave; their process group dies with the judge
        in grading, and `_reap_finished` collects them in a long pytest run."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        with contextlib.suppress(OSError):
            self._control.close()
        _finished_servers.append(self._server_pid)
        _reap_finished()

    # -- probe calls

    def run(self, function: Callable[..., Any], *args: Any, doing: str = "", why: str = "", seed: int = 0,
            **kwargs: Any) -> Any:
        """Run `function` (a @probe) on the learner's code with these arguments; return what it returned.

        If the learner's code raises, the spec fails with "<doing> raised <exception>. <why>"."""
        name = _registered(function)
        if self._fatal is not None:
            if isinstance(self._fatal, SubjectLoadFailed):
                raise self._fatal
            raise NotRun(f"not run: an earlier spec already ended with: {str(self._fatal).splitlines()[0]}")
        try:
            return self._call(name, args, kwargs, doing, why, seed)
        except FATAL as stop:
            self._fatal = stop
            raise

    def _call(self, name: str, args: Any, kwargs: Any, doing: str, why: str, seed: int) -> Any:
        if self._sock is None:
            self._spawn()
        assert self._sock is not None
        frame = wire.pack({"kind": "call", "probe": name, "seed": seed}, (list(args), kwargs))
        try:
            self._sock.sendall(frame)
            header, value = _recv(self._sock, self._deadline(60.0))
        except TimeoutError:
            where = self._where_stuck()
            self._kill()
            what = f" ({doing})" if doing else ""
            raise SubjectTimeout(f"your code did not finish within the spec's time limit{what}{where}.") from None
        except (EOFError, ConnectionError):
            raise self._ended(f"while {doing}" if doing else "during this spec") from None
        except wire.WireError as exc:
            self._kill()
            raise SubjectCrashed(f"the process running your code sent a malformed reply: {exc}") from None
        except BaseException:
            self._kill()  # interrupted (a pytest-timeout, Ctrl-C): the subject may be mid-call
            raise
        return _reply_value(header, value, doing, why)


def _reply_value(header: dict[str, Any], value: Any, doing: str, why: str = "") -> Any:
    output = header.get("output")
    if isinstance(output, str) and output:
        sys.stdout.write(output)
    kind = header.get("kind")
    if kind == "value":
        return value
    if kind == "tamper":
        raise SubjectTampered(str(header.get("message")))
    if kind == "unsendable":
        raise LearnerError("UnsendableResult", ["UnsendableResult"], str(header.get("message")), "", doing, why)
    error = header.get("error") if kind == "raised" else None
    if not isinstance(error, dict):
        raise SubjectCrashed("the process running your code sent a reply the judge does not understand.")
    types = [str(t) for t in error.get("types", [])] if isinstance(error.get("types"), list) else []
    type_name, message, where = str(error.get("type")), str(error.get("message", "")), str(error.get("where", ""))
    if "NotImplementedError" in types:
        detail = message or "this part still raises NotImplementedError"
        raise LearnerNotImplemented(f"Not implemented yet: {detail}" + (f"\n  at {where}" if where else ""))
    if "SystemExit" in types or "KeyboardInterrupt" in types:
        what = "called sys.exit" if "SystemExit" in types else "raised KeyboardInterrupt"
        when = f" while {doing}" if doing else ""
        at = f"\n  at {where}" if where else ""
        raise SubjectExited(f"the process running your code ended early: your code {what}{when}.{at}")
    if looks_out_of_memory(type_name, message):
        raise SubjectOutOfMemory(f"{type_name}: {message}".splitlines()[0][:500])
    raise LearnerError(type_name, types, message, where, doing, why)


class InlineSubject:
    """Runs probes in this very process (for debuggers). Same encoding, no integrity claim."""

    def __init__(self, impl_path: Path) -> None:
        self.impl_path = impl_path
        self.deadline: float | None = None
        from kata_runner.plugin import load_implementation

        self.module = load_implementation(impl_path)

    def run(self, function: Callable[..., Any], *args: Any, doing: str = "", why: str = "", seed: int = 0,
            **kwargs: Any) -> Any:
        name = _registered(function)
        tree, blobs = wire.encode((list(args), kwargs))
        call_args, call_kwargs = wire.decode(tree, blobs)
        state = torch.random.get_rng_state()
        try:
            reply, value = call_probe(self.module, self.impl_path, name, call_args, call_kwargs, seed)
        finally:
            torch.random.set_rng_state(state)
        try:
            tree, blobs = wire.encode(value)
            value = wire.decode(tree, blobs)
        except UNSENDABLE as exc:
            reply = {"kind": "unsendable", "message": f"{type(exc).__name__}: {exc}"[:500]}
        return _reply_value(reply, value, doing, why)

    def close(self) -> None:
        pass
