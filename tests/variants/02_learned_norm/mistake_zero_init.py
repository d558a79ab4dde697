"""Mistake: both statistics start at zero, so a fresh layer divides by eps alone instead of being the identity."""

import torch
from torch import nn

from kata_runner.testing import solution

EXPECT = "learned_std = ones"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def __init__(self, num_features, eps=1e-5):
        super().__init__(num_features, eps)
        self.learned_std = nn.Parameter(torch.zeros(num_features))
