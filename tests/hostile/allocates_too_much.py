"""Asks for far more memory than the cap allows."""

import torch

from kata_runner.testing import solution

EXPECT_VERDICT = "memory"
EXPECT_MESSAGE = "memory limit exceeded"


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        hoard = [torch.ones(2**26) for _ in range(1000)]  # 256 MB each
        return hoard[0]
