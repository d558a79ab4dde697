"""Ignores SIGALRM and SIGTERM, then loops: only a kill from outside stops it."""

import signal

from kata_runner.testing import solution

EXPECT_VERDICT = "timeout"
EXPECT_MESSAGE = "limit"

signal.signal(signal.SIGALRM, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        while True:
            pass
