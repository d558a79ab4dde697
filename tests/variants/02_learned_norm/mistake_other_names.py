"""Mistake: the parameters are named mean and std, so the state_dict keys do not match the API."""

import torch
from torch import nn

from kata_runner.testing import solution

EXPECT = "parameter names"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def __init__(self, num_features, eps=1e-5):
        nn.Module.__init__(self)
        self.eps = eps
        self.mean = nn.Parameter(torch.zeros(num_features))
        self.std = nn.Parameter(torch.ones(num_features))

    def forward(self, x):
        return (x - self.mean) / (self.std + self.eps)
