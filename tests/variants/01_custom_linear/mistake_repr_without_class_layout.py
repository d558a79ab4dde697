"""Mistake: extra_repr spells the sizes differently from nn.Linear."""

from kata_runner.testing import solution

EXPECT = "repr should be"


class CustomLinear(solution("01").CustomLinear):
    def extra_repr(self):
        return f"in={self.in_features}, out={self.out_features}, bias={self.bias is not None}"
