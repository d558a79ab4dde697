"""Mistake: momentum applied the wrong way round: running = momentum * running + (1 - momentum) * batch."""

import torch

from kata_runner.testing import solution

EXPECT = "wrong way round"
_ref = solution("06")


class BatchNormLike(_ref.BatchNormLike):
    def forward(self, x):
        if self.training:
            if x.shape[0] < 2:
                raise ValueError("Expected more than 1 value per channel when training")
            mean, var = x.mean(0), x.var(0, unbiased=False)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.mul_(m).add_((1 - m) * mean)
                self.running_var.mul_(m).add_((1 - m) * x.var(0, unbiased=True))
                self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
