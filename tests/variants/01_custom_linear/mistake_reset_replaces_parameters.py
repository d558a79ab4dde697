"""Mistake: reset_parameters() builds new Parameters instead of filling the existing ones."""

import math

import torch
from torch import nn

from kata_runner.testing import solution

EXPECT = "in place"


class CustomLinear(solution("01").CustomLinear):
    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in_features)
        self.weight = nn.Parameter(torch.empty_like(self.weight).uniform_(-bound, bound))
        if self.bias is not None:
            self.bias = nn.Parameter(torch.empty_like(self.bias).uniform_(-bound, bound))
