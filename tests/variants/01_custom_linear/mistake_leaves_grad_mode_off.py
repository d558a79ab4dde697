"""Mistake: turns autograd off in forward "to save memory" and never turns it back on."""

import torch
import torch.nn.functional as F

from kata_runner.testing import solution

EXPECT = "switched grad mode"


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        out = F.linear(x, self.weight, self.bias)
        if not x.requires_grad:
            torch.set_grad_enabled(False)
        return out
