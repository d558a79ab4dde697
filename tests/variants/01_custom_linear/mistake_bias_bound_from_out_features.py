"""Mistake: the bias range uses 1/sqrt(out_features) instead of 1/sqrt(in_features)."""

import math

from torch import nn

from kata_runner.testing import solution

EXPECT = "initial bias"


class CustomLinear(solution("01").CustomLinear):
    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.out_features)
            nn.init.uniform_(self.bias, -bound, bound)
