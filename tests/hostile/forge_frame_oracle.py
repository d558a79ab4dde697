"""A wrong layer that looks for the spec's expected value in its callers' frames and returns it."""

import sys

import torch

from kata_runner.testing import solution

EXPECT_VERDICT = "fail"
EXPECT_MESSAGE = ""


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        frame = sys._getframe(1)
        while frame is not None:
            for name in ("expected", "reference", "want"):
                value = frame.f_locals.get(name)
                if isinstance(value, torch.Tensor):
                    return value
            frame = frame.f_back
        return torch.zeros(*x.shape[:-1], self.out_features, dtype=x.dtype, device=x.device)
