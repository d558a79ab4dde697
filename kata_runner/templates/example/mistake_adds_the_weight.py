"""Mistake: forward adds the weight instead of multiplying by it."""

from kata_runner.testing import solution

EXPECT = "feature by feature"
_ref = solution("01")


class Scale(_ref.Scale):
    def forward(self, x):
        return x + self.weight
