"""Finds the grading process (its judge's parent) and SIGKILLs every other process forked from it, again
and again for two seconds: other students' judges. Their grades must not change."""

import os
import signal
import time

from kata_runner.testing import solution

EXPECT_VERDICT = "pass"
EXPECT_MESSAGE = ""
SANDBOX = "off"  # graded without the subject sandbox: the grader's own defences are under test
SECONDS = 2.0


def _stat(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    return int(data[data.rindex(b")") + 2 :].split()[1])


def _cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read()


def _kill_siblings():
    try:
        judge = os.getsid(0)  # a job's judge leads its session; its judges and subjects are all in it
        grader = _stat(judge)
        forked_from_grader = _cmdline(grader)
    except (OSError, ValueError):
        return
    if grader <= 1:
        return
    folder = os.environ.get("KATA_HOSTILE_PIDS")
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        for name in os.listdir("/proc"):
            try:
                pid = int(name)
                if pid != judge and _stat(pid) == grader and _cmdline(pid) == forked_from_grader:
                    os.kill(pid, signal.SIGKILL)
                    if folder:
                        open(os.path.join(folder, f"killed.{pid}"), "w").close()
            except (OSError, ValueError):
                continue
        time.sleep(0.02)


_kill_siblings()


class CustomLinear(solution("01").CustomLinear):
    pass
