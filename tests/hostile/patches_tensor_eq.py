"""A wrong forward, plus Tensor.__eq__ patched so every comparison is true."""

import torch

from kata_runner.testing import solution

EXPECT_VERDICT = "error"
EXPECT_MESSAGE = "__eq__"

torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        return super().forward(x) * 0
