"""Ends the process with status 0 in the middle of the specs."""

import os

from kata_runner.testing import solution

EXPECT_VERDICT = "error"
EXPECT_MESSAGE = "ended early"


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        os._exit(0)
