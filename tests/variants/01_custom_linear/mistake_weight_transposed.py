"""Mistake: weight stored as (in_features, out_features), incompatible with nn.Linear's state_dict."""

import math

import torch
from torch import nn

from kata_runner.testing import solution

EXPECT = "(out_features, in_features)"
_ref = solution("01")


class CustomLinear(_ref.CustomLinear):
    def __init__(self, in_features, out_features, bias=True, *, device=None, dtype=None):
        super().__init__(in_features, out_features, bias, device=device, dtype=dtype)
        bound = 1 / math.sqrt(in_features)
        self.weight = nn.Parameter(
            torch.empty(in_features, out_features, device=device, dtype=dtype).uniform_(-bound, bound)
        )

    def forward(self, x):
        out = x @ self.weight
        return out if self.bias is None else out + self.bias
