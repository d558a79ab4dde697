"""A wrong forward, plus torch.equal patched to always say "equal"."""

import torch

from kata_runner.testing import solution

EXPECT_VERDICT = "error"
EXPECT_MESSAGE = "torch.equal"

torch.equal = lambda *args, **kwargs: True


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        return super().forward(x) * 0
