"""Crashes the interpreter with a segmentation fault in forward."""

import ctypes

from kata_runner.testing import solution

EXPECT_VERDICT = "crashed"
EXPECT_MESSAGE = "SIGSEGV"


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        ctypes.string_at(0)
