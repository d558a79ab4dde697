"""Mistake: assigns weight.data = a new float32 tensor: the Parameter stays, but its dtype (and device) are lost."""

import math

import torch

from kata_runner.testing import solution

EXPECT = "in place"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.KAIMING_LAYERS):
        fan_out = module.weight.shape[0] * math.prod(module.weight.shape[2:])
        module.weight.data = torch.randn(tuple(module.weight.shape)) * math.sqrt(2 / fan_out)
        if module.bias is not None:
            module.bias.data = torch.zeros(tuple(module.bias.shape))
    else:
        _ref.init_weights(module)
