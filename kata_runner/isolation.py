"""Runs work in forked child processes, with limits enforced from outside the child.

The parent imports torch and pytest once; every child is a fork of it, so it pays neither import
again. Each child gets its own process group (so a wall-clock kill also takes its threads and any
processes it started), an address-space cap where that is safe, RSS polling as a backstop, and a
pipe for its stdout/stderr that the parent drains continuously and truncates, so a child that prints
without end never blocks anyone.
"""

from __future__ import annotations

import contextlib
import os
import resource
import selectors
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

CAN_FORK = hasattr(os, "fork")
OUTPUT_HEAD = 64 * 1024
OUTPUT_TAIL = 16 * 1024
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 20.0
    memory_bytes: int | None = 4 * 2**30
    # An address-space cap (RLIMIT_AS) stops a runaway allocation at once, but CUDA reserves huge
    # virtual ranges, so it is only applied to children that never touch the GPU.
    cap_address_space: bool = True


@dataclass
class ChildOutcome:
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    memory_exceeded: bool = False
    duration: float = 0.0
    peak_rss: int = 0
    output: str = ""
    output_bytes: int = 0

    @property
    def signal_name(self) -> str:
        if self.signal is None:
            return ""
        try:
            return signal.Signals(self.signal).name
        except ValueError:
            return f"signal {self.signal}"


@dataclass
class _Running:
    index: int
    pid: int
    started: float
    deadline: float
    out_fd: int
    pidfd: int | None
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    total: int = 0
    outcome: ChildOutcome = field(default_factory=ChildOutcome)


def _statm_bytes(pid: int | str, field: int) -> int:
    """A field of /proc/PID/statm in bytes (0: address space, 1: resident); 0 where there is no /proc."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[field]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _child_main(target: Callable[[], int], write_fd: int, limits: Limits) -> None:
    code = 70
    try:
        os.setpgid(0, 0)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(write_fd, 1)
        os.dup2(write_fd, 2)
        os.close(write_fd)
        # The parent may have replaced sys.stdout (pytest's capture, click's CliRunner): point the
        # child's streams at the real descriptors, which now lead into the pipe.
        sys.stdout = open(1, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", errors="replace", closefd=False)  # noqa: SIM115
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if limits.memory_bytes and limits.cap_address_space:
            base = _statm_bytes("self", 0)
            if base:
                _, hard = resource.getrlimit(resource.RLIMIT_AS)
                soft = base + limits.memory_bytes
                if hard != resource.RLIM_INFINITY:
                    soft = min(soft, hard)
                resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        code = target()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report anything, then leave without running the parent's cleanup
        traceback.print_exc()
        code = 70
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _start(index: int, target: Callable[[], int], limits: Limits) -> _Running:
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_fd)
        _child_main(target, write_fd, limits)
    os.close(write_fd)
    with contextlib.suppress(OSError):  # the child may have done it already, or exited
        os.setpgid(pid, pid)
    os.set_blocking(read_fd, False)
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    now = time.monotonic()
    return _Running(index, pid, now, now + limits.wall_seconds, read_fd, pidfd)


def _kill_group(pid: int) -> None:
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill()


def _drain(run: _Running) -> bool:
    """Read what the child wrote; False once its end of the pipe is closed."""
    while True:
        try:
            chunk = os.read(run.out_fd, 65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not chunk:
            return False
        run.total += len(chunk)
        room = OUTPUT_HEAD - len(run.head)
        if room > 0:
            run.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            run.tail = (run.tail + chunk)[-OUTPUT_TAIL:]


def _finish(run: _Running, status: int) -> ChildOutcome:
    _kill_group(run.pid)  # stray grandchildren or threads of a finished child go too
    while _drain(run):
        pass
    os.close(run.out_fd)
    if run.pidfd is not None:
        os.close(run.pidfd)
    outcome = run.outcome
    outcome.duration = time.monotonic() - run.started
    if os.WIFSIGNALED(status):
        outcome.signal = os.WTERMSIG(status)
    elif os.WIFEXITED(status):
        outcome.exit_code = os.WEXITSTATUS(status)
    text = run.head.decode("utf-8", "replace")
    if run.total > len(run.head):
        skipped = run.total - len(run.head) - len(run.tail)
        text += f"\n... {skipped} bytes of output left out ...\n" if skipped > 0 else ""
        text += run.tail.decode("utf-8", "replace")
    outcome.output = text
    outcome.output_bytes = run.total
    return outcome


def run_isolated(
    targets: Sequence[Callable[[], int]],
    limits: Limits,
    max_parallel: int = 1,
    on_done: Callable[[int, ChildOutcome], None] | None = None,
) -> list[ChildOutcome]:
    """Run each target in its own forked child, at most `max_parallel` at once."""
    if not CAN_FORK:
        raise RuntimeError("process isolation needs os.fork; use --in-process on this platform.")
    outcomes: list[ChildOutcome | None] = [None] * len(targets)
    pending = list(enumerate(targets))
    running: dict[int, _Running] = {}
    selector = selectors.DefaultSelector()
    try:
        while pending or running:
            while pending and len(running) < max(1, max_parallel):
                index, target = pending.pop(0)
                run = _start(index, target, limits)
                running[run.pid] = run
                selector.register(run.out_fd, selectors.EVENT_READ, run)
                if run.pidfd is not None:
                    selector.register(run.pidfd, selectors.EVENT_READ, run)
            soonest = min(r.deadline for r in running.values())
            timeout = max(0.0, min(POLL_SECONDS, soonest - time.monotonic()))
            for key, _ in selector.select(timeout):
                if key.fd == key.data.out_fd and not _drain(key.data):
                    selector.unregister(key.fd)
            now = time.monotonic()
            for pid, run in list(running.items()):
                done_pid, status = os.waitpid(pid, os.WNOHANG)
                if done_pid == 0:
                    rss = _statm_bytes(pid, 1)
                    run.outcome.peak_rss = max(run.outcome.peak_rss, rss)
                    if limits.memory_bytes and rss > limits.memory_bytes:
                        run.outcome.memory_exceeded = True
                    elif now >= run.deadline:
                        run.outcome.timed_out = True
                    else:
                        continue
                    _kill_group(pid)
                    _, status = os.waitpid(pid, 0)
                for fd in (run.out_fd, run.pidfd):
                    if fd is not None and fd in selector.get_map():
                        selector.unregister(fd)
                del running[pid]
                outcome = _finish(run, status)
                outcomes[run.index] = outcome
                if on_done:
                    on_done(run.index, outcome)
    finally:
        for pid in list(running):
            _kill_group(pid)
            os.waitpid(pid, 0)
        selector.close()
    return [o for o in outcomes if o is not None]
