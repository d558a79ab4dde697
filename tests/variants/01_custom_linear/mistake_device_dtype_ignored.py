"""Mistake: the device and dtype factory arguments are ignored."""

from kata_runner.testing import solution

EXPECT = "factory arguments"
_ref = solution("01")


class CustomLinear(_ref.CustomLinear):
    def __init__(self, in_features, out_features, bias=True, *, device=None, dtype=None):
        super().__init__(in_features, out_features, bias)
