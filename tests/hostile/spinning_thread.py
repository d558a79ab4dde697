"""Starts a non-daemon thread that spins for ever and waits for it in forward."""

import threading

from kata_runner.testing import solution

EXPECT_VERDICT = "timeout"
EXPECT_MESSAGE = "limit"


def _spin():
    while True:
        pass


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        worker = threading.Thread(target=_spin)
        worker.start()
        worker.join()
