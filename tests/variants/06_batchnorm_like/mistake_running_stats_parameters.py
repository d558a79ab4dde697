"""Mistake: running statistics registered as nn.Parameters (requires_grad=False) instead of buffers:
model.parameters() hands them to the optimizer (weight decay, for one, would shrink them)."""

import torch
from torch import nn

from kata_runner.testing import solution

EXPECT = "optimizers never touch"
_ref = solution("06")


class BatchNormLike(_ref.BatchNormLike):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        self.running_mean = nn.Parameter(torch.zeros(num_features), requires_grad=False)
        self.running_var = nn.Parameter(torch.ones(num_features), requires_grad=False)
