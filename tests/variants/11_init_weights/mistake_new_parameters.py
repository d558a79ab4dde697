"""Mistake: assigns brand-new Parameters (float32, default device) instead of initialising in place."""

import math

import torch
from torch import nn

from kata_runner.testing import solution

EXPECT = "in place"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.KAIMING_LAYERS):
        fan_out = module.weight.shape[0] * math.prod(module.weight.shape[2:])
        module.weight = nn.Parameter(torch.randn(module.weight.shape) * math.sqrt(2 / fan_out))
        if module.bias is not None:
            module.bias = nn.Parameter(torch.zeros(module.bias.shape))
    else:
        _ref.init_weights(module)
