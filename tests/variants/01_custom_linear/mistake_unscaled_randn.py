"""Mistake: weight initialised with plain randn, not scaled by 1/sqrt(in_features)."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "not scaled"
_ref = solution("01")


class CustomLinear(_ref.CustomLinear):
    def reset_parameters(self):
        nn.init.normal_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
