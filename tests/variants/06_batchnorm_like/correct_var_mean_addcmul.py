"""Correct: torch.var_mean with correction=0, unbiased estimate by Bessel's factor, affine via addcmul."""

import torch
from torch import nn

from kata_runner.testing import solution

_ref = solution("06")


class BatchNormLike(_ref.BatchNormLike):
    def forward(self, x):
        if self.training:
            if x.shape[0] == 1:
                raise ValueError("Expected more than 1 value per channel when training")
            var, mean = torch.var_mean(x, dim=0, correction=0)
            bessel = x.shape[0] / (x.shape[0] - 1)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.copy_((1 - m) * self.running_mean + m * mean)
                self.running_var.copy_((1 - m) * self.running_var + m * bessel * var)
                self.num_batches_tracked.add_(1)
        else:
            mean, var = self.running_mean, self.running_var
        return torch.addcmul(self.bias, (x - mean) / (var + self.eps).sqrt(), self.weight)
