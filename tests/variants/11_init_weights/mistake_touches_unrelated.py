"""Mistake: dispatch on hasattr(m, 'weight') instead of the layer type, re-initialising unrelated parameters."""

import torch
from torch import nn

EXPECT = "left untouched"


def init_weights(module):
    weight = getattr(module, "weight", None)
    if isinstance(weight, torch.Tensor):
        if weight.dim() >= 2:
            nn.init.kaiming_normal_(weight, mode="fan_out", nonlinearity="relu")
        else:
            nn.init.ones_(weight)
    bias = getattr(module, "bias", None)
    if isinstance(bias, torch.Tensor):
        nn.init.zeros_(bias)
