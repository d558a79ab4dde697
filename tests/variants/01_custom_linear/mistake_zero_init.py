"""Mistake: all-zero weight initialisation (nothing breaks the symmetry)."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "symmetry"
_ref = solution("01")


class CustomLinear(_ref.CustomLinear):
    def reset_parameters(self):
        nn.init.zeros_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
