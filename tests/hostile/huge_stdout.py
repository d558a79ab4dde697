"""A correct implementation that prints 40 MB while it works."""

import sys

from kata_runner.testing import solution

EXPECT_VERDICT = "pass"
EXPECT_MESSAGE = ""

sys.stdout.write("x" * (40 * 2**20))
sys.stdout.flush()


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        print("y" * 100_000)
        return super().forward(x)
