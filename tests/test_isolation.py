"""The forked-child runner on its own: exit codes, signals, limits and output handling."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kata_runner.isolation import Limits, run_isolated

FAST = Limits(wall_seconds=2.0, memory_bytes=512 * 2**20)


def test_exit_code_and_output_come_back() -> None:
    def target() -> int:
        print("hello from the child")
        return 3

    [outcome] = run_isolated([target], FAST)
    assert outcome.exit_code == 3
    assert "hello from the child" in outcome.output


def test_a_signal_is_reported_by_name() -> None:
    [outcome] = run_isolated([lambda: os.kill(os.getpid(), signal.SIGSEGV) or 0], FAST)
    assert outcome.signal_name == "SIGSEGV"


def test_wall_clock_limit_kills_a_child_that_ignores_signals() -> None:
    def stubborn() -> int:
        for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            pass

    started = time.monotonic()
    [outcome] = run_isolated([stubborn], Limits(wall_seconds=1.0))
    assert outcome.timed_out
    assert time.monotonic() - started < 3.0


def test_rss_polling_stops_a_child_without_an_address_space_cap() -> None:
    def hog() -> int:
        chunks = []
        while True:
            chunks.append(bytearray(64 * 2**20))  # zero-filled: resident at once

    [outcome] = run_isolated([hog], Limits(wall_seconds=20.0, memory_bytes=300 * 2**20, cap_address_space=False))
    assert outcome.memory_exceeded


def test_endless_output_is_truncated_and_never_blocks() -> None:
    def chatty() -> int:
        block = "z" * 65536
        for _ in range(2000):  # 128 MB
            sys.stdout.write(block)
        return 0

    [outcome] = run_isolated([chatty], Limits(wall_seconds=20.0))
    assert outcome.exit_code == 0
    assert outcome.output_bytes == 2000 * 65536
    assert len(outcome.output) < 200_000
    assert "bytes of output left out" in outcome.output


def test_children_run_in_parallel_and_results_keep_their_order() -> None:
    targets = [lambda i=i: (time.sleep(0.3), i)[1] for i in range(4)]
    started = time.monotonic()
    outcomes = run_isolated(targets, FAST, max_parallel=4)
    assert [o.exit_code for o in outcomes] == [0, 1, 2, 3]
    assert time.monotonic() - started < 1.2


# ------------------------------------------------------------------------------ nothing outlives a job


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return False
    return data[data.rindex(b")") + 2 :].split()[0] not in (b"Z", b"X")


def daemon(folder: Path, name: str = "daemon") -> None:
    """Double-fork into a new session, ignore the polite signals, keep the output pipe open and record the pid."""
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    (folder / f"{name}.{os.getpid()}").touch()
    time.sleep(60)
    os._exit(0)


def recorded(folder: Path, name: str = "daemon") -> list[int]:
    return [int(path.suffix[1:]) for path in folder.glob(f"{name}.*")]


def test_a_setsid_daemon_holding_the_output_pipe_dies_with_its_job(tmp_path: Path) -> None:
    def target() -> int:
        daemon(tmp_path)
        time.sleep(0.2)  # the daemon has recorded itself by now
        return 0

    started, cpu = time.monotonic(), time.process_time()
    [outcome] = run_isolated([target], FAST)
    assert outcome.exit_code == 0
    assert time.monotonic() - started < 1.5, "the parent waited for the daemon to close the pipe"
    assert time.process_time() - cpu < 0.5, "the parent spun on the pipe"
    [pid] = recorded(tmp_path)
    assert not alive(pid)


def test_a_job_that_ends_normally_leaves_neither_children_nor_grandchildren(tmp_path: Path) -> None:
    """A job that returns kills its children only (no walk of /proc); their own children, orphaned, are
    the parent's to find and kill before run_isolated returns."""

    def target() -> int:
        if os.fork() == 0:  # a child that ignores the polite signals, with a grandchild of its own
            for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                signal.signal(sig, signal.SIG_IGN)
            if os.fork() == 0:
                (tmp_path / f"grandchild.{os.getpid()}").touch()
                time.sleep(60)
                os._exit(0)
            (tmp_path / f"child.{os.getpid()}").touch()
            time.sleep(60)
            os._exit(0)
        while len(list(tmp_path.iterdir())) < 2:
            time.sleep(0.01)
        return 0

    [outcome] = run_isolated([target], FAST)
    assert outcome.exit_code == 0
    pids = recorded(tmp_path, "child") + recorded(tmp_path, "grandchild")
    assert len(pids) == 2 and not any(alive(pid) for pid in pids)


def test_a_wall_clock_kill_also_kills_processes_in_other_sessions(tmp_path: Path) -> None:
    def target() -> int:
        daemon(tmp_path)
        while True:
            time.sleep(1)

    [outcome] = run_isolated([target], Limits(wall_seconds=1.0))
    assert outcome.timed_out
    [pid] = recorded(tmp_path)
    assert not alive(pid)


def test_a_job_with_too_many_processes_is_stopped_and_leaves_none(tmp_path: Path) -> None:
    def bomb() -> int:
        if os.fork() == 0:
            os.setsid()
            for _ in range(4):  # 16 processes: over the cap of 8, and harmless if nothing stopped them
                if os.fork() == 0:
                    (tmp_path / f"bomb.{os.getpid()}").touch()
            time.sleep(60)
            os._exit(0)
        time.sleep(5)
        return 0

    started = time.monotonic()
    [outcome] = run_isolated([bomb], Limits(wall_seconds=10.0, max_processes=8))
    assert outcome.too_many_processes and outcome.stopped_by_limit
    assert time.monotonic() - started < 4.0
    pids = recorded(tmp_path, "bomb")
    assert pids and not any(alive(pid) for pid in pids)


def test_memory_split_across_child_processes_is_added_up(tmp_path: Path) -> None:
    def hoard() -> int:
        for _ in range(3):
            if os.fork() == 0:
                (tmp_path / f"hoard.{os.getpid()}").touch()
                block = b"\1" * (150 * 2**20)  # written: resident at once; each alone is under the cap
                time.sleep(60)
                os._exit(len(block) & 0)
        time.sleep(10)
        return 0

    [outcome] = run_isolated([hoard], Limits(wall_seconds=10.0, memory_bytes=300 * 2**20))
    assert outcome.memory_exceeded
    assert outcome.peak_rss > 300 * 2**20
    pids = recorded(tmp_path, "hoard")
    assert pids and not any(alive(pid) for pid in pids)


def test_a_failed_fork_is_that_jobs_outcome_only(monkeypatch: pytest.MonkeyPatch) -> None:
    real_fork, calls = os.fork, []

    def flaky_fork() -> int:
        calls.append(1)
        if len(calls) == 2:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        return real_fork()

    monkeypatch.setattr(os, "fork", flaky_fork)
    outcomes = run_isolated([lambda: 0, lambda: 1, lambda: 2], FAST)
    assert [o.exit_code for o in outcomes] == [0, None, 2]
    assert outcomes[1].start_error == "Resource temporarily unavailable"


def test_sigterm_to_the_parent_kills_every_job_and_descendant_first(tmp_path: Path) -> None:
    def victim() -> int:
        daemon(tmp_path)
        time.sleep(60)
        return 0

    def terminator() -> int:
        deadline = time.monotonic() + 5
        while len(recorded(tmp_path)) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(os.getppid(), signal.SIGTERM)
        time.sleep(60)
        return 0

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as stopped:
        run_isolated([victim, victim, terminator], Limits(wall_seconds=20.0), max_parallel=3)
    assert stopped.value.code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) == before
    pids = recorded(tmp_path)
    assert len(pids) == 2 and not any(alive(pid) for pid in pids)


def test_a_job_outlives_neither_a_killed_parent(tmp_path: Path) -> None:
    """SIGKILL leaves the parent no chance to clean up: each job dies with it (PR_SET_PDEATHSIG), and kills
    its own descendants, daemons included, on the way."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(Path(__file__).parent.parent)!r}]\n"
        "from pathlib import Path\n"
        "from test_isolation import daemon\n"
        "from kata_runner.isolation import Limits, run_isolated\n"
        "def job():\n"
        f"    daemon(Path({str(tmp_path)!r}))\n"
        "    time.sleep(60)\n"
        "    return 0\n"
        "run_isolated([job, job], Limits(wall_seconds=60.0), max_parallel=2)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 20
        while len(recorded(tmp_path)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(recorded(tmp_path)) == 2
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in recorded(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(pid) for pid in recorded(tmp_path))
