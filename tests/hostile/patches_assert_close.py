"""A wrong forward, plus torch.testing.assert_close patched to accept anything."""

import torch
import torch.testing

from kata_runner.testing import solution

EXPECT_VERDICT = "error"
EXPECT_MESSAGE = "torch.testing.assert_close"

torch.testing.assert_close = lambda *args, **kwargs: None


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        return super().forward(x) * 0
