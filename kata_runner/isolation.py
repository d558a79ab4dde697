"""Runs work in forked child processes (jobs), with limits enforced from outside, and leaves nothing behind.

The parent imports torch and pytest once; every job is a fork of it, so it pays neither import again. Each
job gets its own session, an address-space cap where that is safe, and a pipe for its stdout/stderr that
the parent drains continuously and truncates, so a job that prints without end never blocks anyone.

Nothing a job starts outlives it. The parent and every job are *subreapers* (PR_SET_CHILD_SUBREAPER): a
process whose parent dies is adopted by its nearest subreaper ancestor instead of init, so a daemon that
double-forks and calls setsid() stays inside its job's process tree while the job runs, and becomes a child
of the parent once the job has ended. The parent walks the process table (/proc) a few times a second: it
counts each job's processes (a cap stops fork bombs), sums their memory (the address-space cap is per
process, and an allocation can be split across grandchildren), and kills whatever a finished job left.
A job dies with the parent (PR_SET_PDEATHSIG), killing its own descendants first; SIGINT or SIGTERM to the
parent kills every job and every descendant before the exception propagates. A job's output pipe is read
one last time once the job and its descendants are dead, whoever else may still hold it open.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import selectors
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache

CAN_FORK = hasattr(os, "fork")
OUTPUT_HEAD = 64 * 1024
OUTPUT_TAIL = 16 * 1024
POLL_SECONDS = 0.05
SCAN_SECONDS = 0.1  # how often the jobs' process trees are walked (one pass over /proc: about a millisecond)
PSS_SECONDS = 0.2  # how often a job's proportional memory is measured while its resident sum is over the cap
PSS_BUDGET_SECONDS = 0.05  # how long one such measurement may take
KILL_SECONDS = 5.0  # how long killing a tree may keep finding new processes before giving up

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 20.0
    memory_bytes: int | None = 4 * 2**30
    # An address-space cap (RLIMIT_AS) stops a runaway allocation at once, but CUDA reserves huge
    # virtual ranges, so it is only applied to children that never touch the GPU.
    cap_address_space: bool = True
    # Processes a job may have at once, itself included (a judge, its fork server and a subject are three).
    max_processes: int = 32


@dataclass
class ChildOutcome:
    exit_code: int | None = None
    signal: int | None = None
    timed_out: bool = False
    memory_exceeded: bool = False
    too_many_processes: bool = False
    start_error: str = ""  # why the job could not be started (no fork or no pipe); empty when it ran
    duration: float = 0.0
    peak_rss: int = 0  # the most memory measured over the job's processes together
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

    @property
    def stopped_by_limit(self) -> bool:
        return self.timed_out or self.memory_exceeded or self.too_many_processes


# ------------------------------------------------------------------------------ processes


@cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - no C library to ask
        return None


def _prctl(option: int, value: int) -> bool:
    """Linux prctl(2) with one integer argument; False where it is unavailable or fails."""
    libc = _libc()
    if libc is None or not sys.platform.startswith("linux"):
        return False
    return int(libc.prctl(option, value, 0, 0, 0)) == 0


def _is_subreaper() -> bool:
    libc = _libc()
    flag = ctypes.c_int(0)
    if libc is None or not sys.platform.startswith("linux"):
        return False
    libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(flag), 0, 0, 0)
    return bool(flag.value)


@dataclass(frozen=True)
class _Process:
    pid: int
    ppid: int
    pgid: int
    zombie: bool


def _process_table() -> dict[int, _Process]:
    """Every process on the machine, from /proc (empty where there is none)."""
    table: dict[int, _Process] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
            # The command name is in parentheses and may itself contain ") ": the fields follow the last one.
            state, ppid, pgid = data[data.rindex(b")") + 2 :].split()[:3]
            table[int(name)] = _Process(int(name), int(ppid), int(pgid), state in (b"Z", b"X"))
        except (OSError, ValueError):
            continue
    return table


class _Tree:
    def __init__(self, table: dict[int, _Process]) -> None:
        self.table = table
        self.children: dict[int, list[int]] = {}
        for process in table.values():
            self.children.setdefault(process.ppid, []).append(process.pid)

    def under(self, root: int) -> set[int]:
        """Every descendant of `root` (not `root` itself), zombies included."""
        found: set[int] = set()
        todo = list(self.children.get(root, ()))
        while todo:
            pid = todo.pop()
            if pid not in found:
                found.add(pid)
                todo.extend(self.children.get(pid, ()))
        return found

    def alive(self, pids: Iterable[int]) -> set[int]:
        return {pid for pid in pids if pid in self.table and not self.table[pid].zombie}


def _kill(pids: set[int], table: dict[int, _Process]) -> None:
    """SIGKILL `pids`, and first every process group made of them alone: one kill of a group also reaches
    members forked after the table was read. A group with anyone else in it (this process's own, say) is
    never signalled as a group."""
    members: dict[int, set[int]] = {}
    for process in table.values():
        if not process.zombie:
            members.setdefault(process.pgid, set()).add(process.pid)
    own = os.getpgrp()
    for pgid in {table[pid].pgid for pid in pids if pid in table} - {own, 0, 1}:
        if members.get(pgid, set()) <= pids:
            with contextlib.suppress(OSError):
                os.killpg(pgid, signal.SIGKILL)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _kill_group(pgid: int) -> None:
    """SIGKILL a job's own process group (it leads its own session, so the group is the job's alone)."""
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def kill_until_gone(targets: Callable[[_Tree], set[int]], wait: bool = True) -> _Tree:
    """Kill what `targets` finds in a fresh process table, again and again, until it finds nothing new alive
    (`wait`: nothing alive at all, so that nothing can still be writing). Processes forked between two
    passes are found by the next one; a killed process can fork no more. Returns the last table read."""
    killed: set[int] = set()
    give_up = time.monotonic() + KILL_SECONDS
    pause = 0.001
    while True:
        tree = _Tree(_process_table())
        live = tree.alive(targets(tree))
        fresh = live - killed
        if not (live if wait else fresh) or time.monotonic() > give_up:
            return tree
        _kill(live, tree.table)
        killed |= live
        if not fresh:  # only dying processes are left: give them a moment to exit (most take a millisecond)
            time.sleep(pause)
            pause = min(2 * pause, 0.02)


def kill_descendants(wait: bool = False) -> None:
    """Kill every descendant of this process (all of them, where this process is a subreaper)."""
    me = os.getpid()
    kill_until_gone(lambda tree: tree.under(me), wait=wait)


def _children() -> set[int] | None:
    """This process's children, from /proc/self/task/*/children (None where the kernel does not list them)."""
    found: set[int] = set()
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children", "rb") as f:
                found.update(int(pid) for pid in f.read().split())
    except (OSError, ValueError):
        return None
    return found


def end_children() -> None:
    """At a job's normal end: SIGKILL its children without a walk of /proc (two walks cost ~5 ms of every graded
    kata). What they started dies with them (PR_SET_PDEATHSIG, a PID namespace) or, adopted by the parent,
    is killed by its sweep when the job has ended."""
    children = _children()
    if children is None:
        kill_descendants()
        return
    for pid in children:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _statm_bytes(pid: int | str, field: int) -> int:
    """A field of /proc/PID/statm in bytes (0: address space, 1: resident); 0 where there is no /proc."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[field]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return 0


def _proportional_bytes(pid: int) -> int:
    """A process's proportional set size (each page shared by n processes counts 1/n), which adds up
    across processes that share the parent's pages after a fork; its resident size where unavailable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
            for line in f:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return _statm_bytes(pid, 1)


def _user_tasks() -> int:
    """Threads of this real user on the machine: what RLIMIT_NPROC counts."""
    uid, count = os.getuid(), 0
    for pid in _process_table():
        with contextlib.suppress(OSError):
            if os.stat(f"/proc/{pid}").st_uid == uid:
                count += len(os.listdir(f"/proc/{pid}/task"))
    return count


# ------------------------------------------------------------------------------ the job


def _end_job(signum: int, frame: object) -> None:
    """SIGTERM in a job (the parent died, or someone asked): take every descendant along, then die of it."""
    with contextlib.suppress(BaseException):
        kill_descendants()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _child_main(target: Callable[[], int], write_fd: int, limits: Limits, setup: _ChildSetup) -> None:
    code = 70
    ended = False  # the target returned
    try:
        for fd in setup.close_fds:  # other jobs' pipes and handles: not this job's business
            with contextlib.suppress(OSError):
                os.close(fd)
        os.setsid()  # its own session and group: the terminal's Ctrl-C goes to the parent, which stops us
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != setup.parent:
            os._exit(code)  # the parent died before the line above
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
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
        signal.signal(signal.SIGTERM, _end_job)
        signal.pthread_sigmask(signal.SIG_SETMASK, setup.signal_mask)
        if limits.memory_bytes and limits.cap_address_space:
            base = _statm_bytes("self", 0)
            if base:
                _set_soft_limit(resource.RLIMIT_AS, base + limits.memory_bytes)
        if setup.user_tasks is not None:
            _set_soft_limit(resource.RLIMIT_NPROC, setup.user_tasks)
        code = target()
        ended = True
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report anything, then leave without running the parent's cleanup
        traceback.print_exc()
        code = 70
    finally:
        try:
            end_children() if ended else kill_descendants()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _set_soft_limit(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(which, (value, hard))


@dataclass(frozen=True)
class _ChildSetup:
    parent: int
    close_fds: tuple[int, ...]
    signal_mask: frozenset[int]
    user_tasks: int | None  # RLIMIT_NPROC to set; None as root, where the kernel ignores it


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
    last_pss: float = float("-inf")
    pss: dict[int, int] = field(default_factory=dict)  # the latest proportional size read of each process
    pss_read: dict[int, float] = field(default_factory=dict)  # when
    outcome: ChildOutcome = field(default_factory=ChildOutcome)


def _drain(run: _Running, most: int | None = None) -> bool:
    """Read what the child wrote (at most `most` chunks); False once its end of the pipe is closed."""
    reads = 0
    while most is None or reads < most:
        reads += 1
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
    return True


def _output(run: _Running) -> str:
    text = run.head.decode("utf-8", "replace")
    if run.total > len(run.head):
        skipped = run.total - len(run.head) - len(run.tail)
        text += f"\n... {skipped} bytes of output left out ...\n" if skipped > 0 else ""
        text += run.tail.decode("utf-8", "replace")
    return text


# ------------------------------------------------------------------------------ the parent


class _Stopper:
    """While installed, SIGINT and SIGTERM raise (KeyboardInterrupt, SystemExit(143)) so that the callers'
    cleanup runs; from the first one on, or once `defer()` is called, further ones only wait for it to end."""

    def __init__(self) -> None:
        self.deferring = False
        self.pending: int | None = None

    def handle(self, signum: int, frame: object) -> None:
        if self.deferring:
            self.pending = self.pending or signum
            return
        self.deferring = True
        self._raise(signum)

    def defer(self) -> None:
        self.deferring = True

    def raise_pending(self) -> None:
        if self.pending is not None:
            self._raise(self.pending)

    @staticmethod
    def _raise(signum: int) -> None:
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[_Stopper]:
    stopper = _Stopper()
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield stopper
        return
    previous = {sig: signal.signal(sig, stopper.handle) for sig in STOP_SIGNALS}
    try:
        yield stopper
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Pool:
    def __init__(self, limits: Limits, max_parallel: int, on_done: Callable[[int, ChildOutcome], None]) -> None:
        self.limits = limits
        self.max_parallel = max(1, max_parallel)
        self.on_done = on_done
        self.me = os.getpid()
        self.running: dict[int, _Running] = {}
        self.selector = selectors.DefaultSelector()
        # Children this process had before: not ours to kill (a test runner's, say).
        self.foreign = {p.pid for p in _process_table().values() if p.ppid == self.me}
        self.user_tasks = None
        if os.geteuid() != 0 and hasattr(resource, "RLIMIT_NPROC"):
            self.user_tasks = _user_tasks() + 4 * limits.max_processes * self.max_parallel + 64
        self.last_scan = 0.0

    # -- what dead jobs leave behind

    def _strays(self, tree: _Tree) -> set[int]:
        """Children of ours that are neither a running job nor there before: adopted from a job that ended."""
        return {p.pid for p in tree.table.values()
                if p.ppid == self.me and p.pid not in self.running and p.pid not in self.foreign}

    def _leftovers(self, tree: _Tree) -> set[int]:
        found: set[int] = set()
        for pid in self._strays(tree):
            found |= {pid, *tree.under(pid)}
        return found

    def sweep(self, wait: bool = False) -> None:
        """Kill whatever ended jobs left, and reap it."""
        tree = kill_until_gone(self._leftovers, wait=wait)
        for pid in self._strays(tree):
            with contextlib.suppress(OSError):
                os.waitpid(pid, os.WNOHANG)

    def kill_job(self, run: _Running) -> None:
        _kill_group(run.pid)  # where there is no /proc to walk, the job's own group at least
        kill_until_gone(lambda tree: {run.pid, *tree.under(run.pid), *self._leftovers(tree)})

    # -- starting

    def start(self, index: int, target: Callable[[], int]) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            read_fd, write_fd = os.pipe()
        except OSError as exc:
            return self._not_started(index, exc)
        inherited = [fd for run in self.running.values() for fd in (run.out_fd, run.pidfd) if fd is not None]
        if hasattr(self.selector, "fileno"):
            inherited.append(self.selector.fileno())
        setup = _ChildSetup(self.me, (*inherited, read_fd),
                            frozenset(signal.pthread_sigmask(signal.SIG_BLOCK, [])), self.user_tasks)
        # Blocked across the fork: a Ctrl-C must not raise in the child before it has its own handlers.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            pid = os.fork()
        except OSError as exc:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(read_fd)
            os.close(write_fd)
            return self._not_started(index, exc)
        if pid == 0:  # pragma: no cover - runs in the child
            _child_main(target, write_fd, self.limits, setup)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        pidfd = None
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                pidfd = os.pidfd_open(pid)
        now = time.monotonic()
        run = _Running(index, pid, now, now + self.limits.wall_seconds, read_fd, pidfd)
        self.running[pid] = run
        self.selector.register(read_fd, selectors.EVENT_READ, run)
        if pidfd is not None:
            self.selector.register(pidfd, selectors.EVENT_READ, run)

    def _not_started(self, index: int, exc: OSError) -> None:
        self.on_done(index, ChildOutcome(start_error=exc.strerror or str(exc)))

    # -- watching

    def watch(self) -> None:
        """Drain output, and every SCAN_SECONDS check each job's processes and reap what ended jobs left."""
        soonest = min(r.deadline for r in self.running.values())
        timeout = max(0.0, min(POLL_SECONDS, soonest - time.monotonic()))
        for key, _ in self.selector.select(timeout):
            run = key.data
            if key.fd == run.out_fd and not _drain(run):
                self.selector.unregister(key.fd)
        now = time.monotonic()
        if now - self.last_scan < SCAN_SECONDS:
            return
        self.last_scan = now
        tree = _Tree(_process_table())
        for run in self.running.values():
            self._measure(run, tree, now)
        leftovers = tree.alive(self._leftovers(tree))
        if leftovers:
            _kill(leftovers, tree.table)
        for pid in self._strays(tree):
            if tree.table[pid].zombie:
                with contextlib.suppress(OSError):
                    os.waitpid(pid, os.WNOHANG)

    def _measure(self, run: _Running, tree: _Tree, now: float) -> None:
        processes = tree.alive({run.pid, *tree.under(run.pid)})
        if len(processes) > self.limits.max_processes:
            run.outcome.too_many_processes = True
            return
        cap = self.limits.memory_bytes
        used = sum(_statm_bytes(pid, 1) for pid in processes)
        if cap and used > cap:
            # Resident sizes count the pages a fork shares with its parent once per process; proportional
            # sizes add up, but cost a walk of each process's page tables (which waits while the process
            # forks), so they are read only here, within a time budget, least recently read first; the sum
            # of the latest readings of the job's live processes is what counts.
            if now - run.last_pss >= PSS_SECONDS:
                run.last_pss = now
                budget = time.monotonic() + PSS_BUDGET_SECONDS
                for pid in sorted(processes, key=lambda pid: run.pss_read.get(pid, float("-inf"))):
                    run.pss[pid], run.pss_read[pid] = _proportional_bytes(pid), time.monotonic()
                    if time.monotonic() > budget:
                        break
                run.pss = {pid: size for pid, size in run.pss.items() if pid in processes}
                run.outcome.memory_exceeded = sum(run.pss.values()) > cap
            used = sum(run.pss.values())
        run.outcome.peak_rss = max(run.outcome.peak_rss, used)

    def reap(self) -> None:
        now = time.monotonic()
        for pid, run in list(self.running.items()):
            try:
                done_pid, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # reaped by someone else: it ended, how is unknown
                done_pid, status = pid, 0
            if done_pid == 0:
                if not run.outcome.stopped_by_limit and now < run.deadline:
                    continue
                run.outcome.timed_out = not run.outcome.stopped_by_limit
                self.kill_job(run)
                with contextlib.suppress(ChildProcessError):
                    _, status = os.waitpid(pid, 0)
            self.finish(run, status)
            self.on_done(run.index, run.outcome)

    def finish(self, run: _Running, status: int) -> None:
        for fd in (run.out_fd, run.pidfd):
            if fd is not None and fd in self.selector.get_map():
                self.selector.unregister(fd)
        del self.running[run.pid]
        _kill_group(run.pid)
        self.sweep()  # descendants of the job, adopted when it ended
        # Whatever the job wrote is in the pipe by now; a leftover that is still dying may hold its write end
        # open, so read what is there and stop, instead of waiting for an end of file.
        _drain(run, most=256)
        os.close(run.out_fd)
        if run.pidfd is not None:
            os.close(run.pidfd)
        outcome = run.outcome
        outcome.duration = time.monotonic() - run.started
        if os.WIFSIGNALED(status):
            outcome.signal = os.WTERMSIG(status)
        elif os.WIFEXITED(status):
            outcome.exit_code = os.WEXITSTATUS(status)
        outcome.output = _output(run)
        outcome.output_bytes = run.total

    def close(self) -> None:
        """Kill every job still running and everything any job left, and wait until all of it is dead."""
        for run in list(self.running.values()):
            self.kill_job(run)
            with contextlib.suppress(OSError):
                os.waitpid(run.pid, 0)
            del self.running[run.pid]
            for fd in (run.out_fd, run.pidfd):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
        self.sweep(wait=True)
        self.selector.close()


def run_isolated(
    targets: Sequence[Callable[[], int]],
    limits: Limits,
    max_parallel: int = 1,
    on_done: Callable[[int, ChildOutcome], None] | None = None,
) -> list[ChildOutcome]:
    """Run each target in its own forked child, at most `max_parallel` at once. Returns once every child,
    and every process any of them started, is dead."""
    if not CAN_FORK:
        raise RuntimeError("process isolation needs os.fork; use --in-process on this platform.")
    outcomes: list[ChildOutcome | None] = [None] * len(targets)

    def done(index: int, outcome: ChildOutcome) -> None:
        outcomes[index] = outcome
        if on_done:
            on_done(index, outcome)

    was_subreaper = _is_subreaper()
    with _stopped_by_signals() as stopper:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        pool = _Pool(limits, max_parallel, done)
        pending = list(enumerate(targets))
        try:
            while pending or pool.running:
                while pending and len(pool.running) < pool.max_parallel:
                    pool.start(*pending.pop(0))
                if pool.running:
                    pool.watch()
                    pool.reap()
        finally:
            stopper.defer()
            pool.close()
            if not was_subreaper:
                _prctl(PR_SET_CHILD_SUBREAPER, 0)
        stopper.raise_pending()
    return [o for o in outcomes if o is not None]
