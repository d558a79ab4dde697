"""Mistake: scales the caller's x in place (and undoes it in the result), leaving the input changed."""

import torch.nn.functional as F

from kata_runner.testing import solution

EXPECT = "changed the input tensor in place"


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        if x.stride() and 0 in x.stride():
            x = x.clone()
        x.mul_(2)
        return F.linear(x / 2, self.weight, self.bias)
