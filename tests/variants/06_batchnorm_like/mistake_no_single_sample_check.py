"""Mistake: no check for a training batch of one sample: the unbiased variance divides by N - 1 = 0 and puts
nan into running_var instead of raising ValueError as BatchNorm1d does."""

import torch

from kata_runner.testing import solution

EXPECT = "did not raise ValueError"
_ref = solution("06")


class BatchNormLike(_ref.BatchNormLike):
    def forward(self, x):
        if self.training:
            mean, var = x.mean(0), x.var(0, unbiased=False)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * x.var(0, unbiased=True))
                self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
