"""Correct: fan_out from nn.init._calculate_fan_in_and_fan_out, values drawn with torch.randn (the global
generator) in the weight's dtype and device and copied in under no_grad; the norm layers filled with fill_."""

import math

import torch
from torch import nn

KAIMING = (nn.Linear, nn.Conv1d, nn.Conv2d)
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)


@torch.no_grad()
def init_weights(module):
    if isinstance(module, KAIMING):
        weight = module.weight
        _, fan_out = nn.init._calculate_fan_in_and_fan_out(weight)
        std = math.sqrt(2.0) / math.sqrt(fan_out)
        weight.copy_(torch.randn(weight.shape, dtype=weight.dtype, device=weight.device) * std)
        if module.bias is not None:
            module.bias.copy_(torch.zeros_like(module.bias))
    elif isinstance(module, NORMS):
        for name, value in (("weight", 1.0), ("bias", 0.0)):
            tensor = getattr(module, name)
            if tensor is not None:
                tensor.fill_(value)
