"""Correct: setattr with Parameters, torch.rand scaled by hand (in place), matmul plus broadcasting."""

import torch
from torch import nn


class CustomLinear(nn.Module):
    def __init__(self, in_features, out_features, bias=True, *, device=None, dtype=None):
        super().__init__()
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        setattr(self, "weight", nn.Parameter(torch.zeros(out_features, in_features, device=device, dtype=dtype)))
        if bias:
            setattr(self, "bias", nn.Parameter(torch.zeros(out_features, device=device, dtype=dtype)))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self):
        bound = self.in_features ** -0.5
        for param in self.parameters():
            param.copy_(torch.rand(param.shape, dtype=param.dtype, device=param.device) * 2 * bound - bound)

    def forward(self, x):
        y = x.matmul(self.weight.t())
        if self.bias is not None:
            y = y + self.bias
        return y

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
