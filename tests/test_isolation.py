"""The forked-child runner on its own: exit codes, signals, limits and output handling."""

from __future__ import annotations

import os
import signal
import sys
import time

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
