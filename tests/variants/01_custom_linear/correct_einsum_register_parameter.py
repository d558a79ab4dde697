"""Correct: register_parameter for both, einsum over any leading dimensions, a zero bias at init."""

import math

import torch
from torch import nn


class CustomLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True, *, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.register_parameter("weight", nn.Parameter(torch.empty((out_features, in_features), device=device,
                                                                   dtype=dtype)))
        self.register_parameter("bias", nn.Parameter(torch.empty(out_features, device=device, dtype=dtype))
                                if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            nn.init.zeros_(self.bias)  # the contract allows a zero bias

    def forward(self, x):
        out = torch.einsum("...i,oi->...o", x, self.weight)
        return out if self.bias is None else out + self.bias

    def extra_repr(self):
        return "in_features={}, out_features={}, bias={}".format(self.in_features, self.out_features,
                                                                  self.bias is not None)
