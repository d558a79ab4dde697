"""Mistake: eval mode still normalises with the batch statistics (the running ones are kept but unused)."""

import torch

from kata_runner.testing import solution

EXPECT = "in eval mode normalise with the running statistics"
_ref = solution("06")


class BatchNormLike(_ref.BatchNormLike):
    def forward(self, x):
        if self.training:
            return super().forward(x)
        mean, var = x.mean(0), x.var(0, unbiased=False)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
