"""Mistake: the seed notebook's version: normalises with the unbiased variance, and computes the running
statistics from tensors still in the graph, so the buffers keep autograd history (every past batch stays
alive in memory)."""

import torch

from kata_runner.testing import solution

EXPECT = "autograd history"
_ref = solution("06")


class BatchNormLike(_ref.BatchNormLike):
    def forward(self, x):
        if self.training:
            mean = x.mean(0)
            var = x.var(0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var
            self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
