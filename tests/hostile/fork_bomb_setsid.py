"""A fork bomb in a new session, bounded so that it cannot harm the machine if nothing stopped it: 2**6
processes that sleep for a minute. The grader's cap on a job's processes stops the job and kills them all."""

import os
import select
import time

from kata_runner.testing import solution

EXPECT_VERDICT = "error"
EXPECT_MESSAGE = "processes running at once"
SANDBOX = "off"  # graded without the subject sandbox: the grader's own defences are under test
GENERATIONS = 6


def _record():
    folder = os.environ.get("KATA_HOSTILE_PIDS")
    if folder:
        open(os.path.join(folder, f"bomb.{os.getpid()}"), "w").close()


def _bomb():
    grown, told = os.pipe()
    if os.fork():
        os.close(told)
        got, deadline = 0, time.monotonic() + 10
        while got < 2**GENERATIONS and select.select([grown], [], [], max(0.0, deadline - time.monotonic()))[0]:
            chunk = os.read(grown, 1024)
            if not chunk:
                break
            got += len(chunk)
        time.sleep(0.5)  # carry on once the bomb has grown
        return
    try:
        os.setsid()
        _record()
        for _ in range(GENERATIONS):
            try:
                if os.fork() == 0:
                    _record()
            except OSError:
                break
        os.write(told, b".")
        time.sleep(60)
    finally:
        os._exit(0)


_bomb()


class CustomLinear(solution("01").CustomLinear):
    pass
