"""Mistake: plain tensors instead of nn.Parameter (the seed notebook's BrokenLayer)."""

import torch

from kata_runner.testing import solution

EXPECT = "nn.Parameter"
_ref = solution("01")


class CustomLinear(_ref.CustomLinear):
    def __init__(self, in_features, out_features, bias=True, *, device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        weight, b = self.weight.detach().clone(), None if self.bias is None else self.bias.detach().clone()
        del self.weight
        del self.bias
        self.weight = weight
        self.bias = b
