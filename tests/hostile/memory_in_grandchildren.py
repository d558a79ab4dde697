"""Splits a large allocation across four child processes, each under the per-process address-space cap
(4 x 300 MB against a 768 MB limit): the grader adds up the memory of every process of the job."""

import os
import select
import time

from kata_runner.testing import solution

EXPECT_VERDICT = "memory"
EXPECT_MESSAGE = "memory limit exceeded"
SANDBOX = "off"  # graded without the subject sandbox: the grader's own defences are under test
CHILDREN = 4
MEGABYTES = 300


def _hoard():
    ready, told = os.pipe()
    for _ in range(CHILDREN):
        if os.fork() == 0:
            try:
                folder = os.environ.get("KATA_HOSTILE_PIDS")
                if folder:
                    open(os.path.join(folder, f"hoard.{os.getpid()}"), "w").close()
                hoard = b"\1" * (MEGABYTES << 20)  # written, so resident at once
                os.write(told, b".")
                time.sleep(60)
                del hoard
            finally:
                os._exit(0)
    got, deadline = 0, time.monotonic() + 5
    while got < CHILDREN and select.select([ready], [], [], max(0.0, deadline - time.monotonic()))[0]:
        got += len(os.read(ready, CHILDREN))
    time.sleep(1.0)  # long enough for the grader to measure


_hoard()


class CustomLinear(solution("01").CustomLinear):
    pass
