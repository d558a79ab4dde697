"""Mistake: the batch statistics are computed under no_grad, so no gradient flows through mean and var."""

import torch

from kata_runner.testing import solution

EXPECT = "gradients must flow"
_ref = solution("06")


class BatchNormLike(_ref.BatchNormLike):
    def forward(self, x):
        if not self.training:
            return super().forward(x)
        if x.shape[0] < 2:
            raise ValueError("Expected more than 1 value per channel when training")
        with torch.no_grad():
            n, m = x.shape[0], self.momentum
            mean, var = x.mean(0), x.var(0, unbiased=False)
            self.running_mean.mul_(1 - m).add_(m * mean)
            self.running_var.mul_(1 - m).add_(m * var * n / (n - 1))
            self.num_batches_tracked += 1
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
