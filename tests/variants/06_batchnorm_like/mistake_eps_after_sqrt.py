"""Mistake: eps added after the square root, (x - mean) / (sqrt(var) + eps)."""

import torch

from kata_runner.testing import solution

EXPECT = "inside the square root"
_ref = solution("06")


class BatchNormLike(_ref.BatchNormLike):
    def forward(self, x):
        if self.training:
            if x.shape[0] < 2:
                raise ValueError("Expected more than 1 value per channel when training")
            mean, var = x.mean(0), x.var(0, unbiased=False)
            with torch.no_grad():
                n, m = x.shape[0], self.momentum
                self.running_mean.mul_(1 - m).add_(m * mean)
                self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))
                self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / (torch.sqrt(var) + self.eps) * self.weight + self.bias
