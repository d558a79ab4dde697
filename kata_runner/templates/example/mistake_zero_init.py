"""Mistake: the weight starts at zero, so a fresh Scale wipes its input out."""

import torch
from torch import nn

from kata_runner.testing import solution

EXPECT = "identity"  # a failing spec's message must say this
_ref = solution("01")


class Scale(_ref.Scale):
    def __init__(self, num_features):
        super().__init__(num_features)
        self.weight = nn.Parameter(torch.zeros(num_features))
