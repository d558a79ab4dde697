"""Mistake: the bias flag is ignored; a bias is always created."""

from kata_runner.testing import solution

EXPECT = "bias flag"
_ref = solution("01")


class CustomLinear(_ref.CustomLinear):
    def __init__(self, in_features, out_features, bias=True, *, device=None, dtype=None):
        super().__init__(in_features, out_features, True, device=device, dtype=dtype)
