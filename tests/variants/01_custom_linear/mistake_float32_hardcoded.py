"""Mistake: creates the parameters as float32 whatever dtype (or default dtype) is asked for."""

import torch
from torch import nn

from kata_runner.testing import solution

EXPECT = "dtype"


class CustomLinear(solution("01").CustomLinear):
    def __init__(self, in_features, out_features, bias=True, *, device=None, dtype=None):
        nn.Module.__init__(self)
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features, device=device, dtype=torch.float32))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, device=device, dtype=torch.float32))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def forward(self, x):
        return super().forward(x.to(torch.float32)).to(x.dtype)
