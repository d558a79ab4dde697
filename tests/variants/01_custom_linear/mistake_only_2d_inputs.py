"""Mistake: forward only supports 2-D inputs (torch.addmm)."""

import torch

from kata_runner.testing import solution

EXPECT = "leading batch dimensions"
_ref = solution("01")


class CustomLinear(_ref.CustomLinear):
    def forward(self, x):
        if self.bias is None:
            return torch.mm(x, self.weight.t())
        return torch.addmm(self.bias, x, self.weight.t())
