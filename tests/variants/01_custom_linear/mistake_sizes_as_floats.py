"""Mistake: keeps the sizes as floats (computed for the init bound) instead of ints."""

from kata_runner.testing import solution

EXPECT = "(ints)"


class CustomLinear(solution("01").CustomLinear):
    def __init__(self, in_features, out_features, *args, **kwargs):
        super().__init__(in_features, out_features, *args, **kwargs)
        self.in_features, self.out_features = float(in_features), float(out_features)
