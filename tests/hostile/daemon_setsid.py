"""A correct layer whose import leaves a daemon behind: it double-forks into a new session, ignores SIGTERM,
SIGHUP and SIGINT, keeps the grading job's output pipe open and writes to it now and then. Nothing of it may
outlive the job, and the grader must neither wait for the pipe to close nor spin on it."""

import os
import signal
import time

from kata_runner.testing import solution

EXPECT_VERDICT = "pass"
EXPECT_MESSAGE = ""
SANDBOX = "off"  # graded without the subject sandbox: the grader's own defences are under test


def _daemon():
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
        folder = os.environ.get("KATA_HOSTILE_PIDS")
        if folder:
            open(os.path.join(folder, f"daemon.{os.getpid()}"), "w").close()
        while True:
            try:
                os.write(1, b"still here\n")
            except OSError:
                pass
            time.sleep(0.2)
    finally:
        os._exit(0)


_daemon()


class CustomLinear(solution("01").CustomLinear):
    pass
