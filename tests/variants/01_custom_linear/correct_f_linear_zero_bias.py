"""Correct: F.linear in forward, bias initialised to zeros."""

import torch.nn.functional as F
from torch import nn

from kata_runner.testing import solution

_ref = solution("01")


class CustomLinear(_ref.CustomLinear):
    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)
