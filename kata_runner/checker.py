"""Runs one check at a time in a background thread, and stops a check that a newer save made stale.

The grading child is forked from this process (from the warm zygote, see zygote.py) and leads its own
process group, subjects included. To stop it we need its pid, which the grader does not hand out: an
at-fork hook makes each direct child write its pid into a pipe, and cancelling kills the process group
of every pid read from it, again and again until the stale check's thread has finished (a child forked
a moment after the cancel is caught by the next round).
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import threading
from collections.abc import Callable
from typing import Any

_PID = struct.Struct("!i")
_trackers: list[ForkedChildren] = []
_hook_installed = False


def _after_fork_in_child() -> None:
    for tracker in _trackers:
        tracker.announce()


class ForkedChildren:
    """Learns the pid of each child this process forks (not grandchildren: the grading child's own fork
    server and subjects die with its process group)."""

    def __init__(self) -> None:
        global _hook_installed
        self.parent = os.getpid()
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)
        self.pids: set[int] = set()
        if not _hook_installed and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _hook_installed = True
        _trackers.append(self)

    def announce(self) -> None:
        """In a freshly forked child: tell the parent who we are."""
        if os.getppid() == self.parent:
            with contextlib.suppress(OSError):
                os.write(self.write_fd, _PID.pack(os.getpid()))

    def _collect(self) -> None:
        while True:
            try:
                data = os.read(self.read_fd, _PID.size * 64)
            except (BlockingIOError, OSError):
                return
            if not data:
                return
            self.pids.update(pid for (pid,) in _PID.iter_unpack(data[: len(data) - len(data) % _PID.size]))

    def kill(self) -> None:
        """SIGKILL the process group of every child announced since the last call (and the child itself, in
        case it has no group yet). Each pid once: the grader reaps it, and its number may then be reused."""
        self._collect()
        for pid in self.pids:
            for kill in (os.killpg, os.kill):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    kill(pid, signal.SIGKILL)
        self.pids.clear()

    def forget(self) -> None:
        """Before a new check: the children of earlier checks are gone (the grader reaped them)."""
        self._collect()
        self.pids.clear()

    def close(self) -> None:
        with contextlib.suppress(ValueError):
            _trackers.remove(self)
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


class Checker:
    """One check at a time: `start(job, done)` runs `job()` in a thread and calls `done(value, error)` from it.
    With `inline`, jobs run in the calling thread instead: grading in-process (for a debugger) forks nothing that
    could be stopped, and pytest-timeout can only interrupt a spec in the main thread (elsewhere it ends the
    whole process)."""

    CANCEL_ROUND_SECONDS = 0.02

    def __init__(self, inline: bool = False) -> None:
        self.inline = inline
        self.children = ForkedChildren()
        self.thread: threading.Thread | None = None
        self.cancelled = threading.Event()
        self.busy = False  # until the job has handed its result over (its thread may live a moment longer)

    def start(self, job: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
        if self.busy:
            raise RuntimeError("a check is already running: cancel it and wait for it to finish first")
        self.children.forget()
        self.cancelled = threading.Event()
        self.busy = True

        def work() -> None:
            value, error = None, None
            try:
                value = job()
            except BaseException as exc:  # noqa: BLE001 - handed to the loop, which decides
                error = exc
            self.busy = False
            done(value, error)

        if self.inline:
            work()
            return
        self.thread = threading.Thread(target=work, name="kata-check", daemon=True)
        self.thread.start()

    def cancel(self) -> None:
        """Stop the running check's grading children until its thread ends (its result is then stale)."""
        thread, cancelled = self.thread, self.cancelled
        if thread is None or not thread.is_alive() or cancelled.is_set():
            return
        cancelled.set()

        def keep_killing() -> None:
            while thread.is_alive():
                self.children.kill()
                thread.join(self.CANCEL_ROUND_SECONDS)

        threading.Thread(target=keep_killing, name="kata-cancel", daemon=True).start()

    def close(self, timeout: float = 10.0) -> None:
        """Cancel whatever runs, wait for it, and stop tracking children."""
        self.cancel()
        if self.thread is not None:
            self.thread.join(timeout)
        self.children.close()
