"""Mistake: the bias is registered but never added in forward."""

from kata_runner.testing import solution

EXPECT = "is the bias added"
_ref = solution("01")


class CustomLinear(_ref.CustomLinear):
    def forward(self, x):
        return x @ self.weight.T
