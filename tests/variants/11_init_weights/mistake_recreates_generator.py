"""Mistake: draws from a private torch.Generator seeded with a constant, ignoring torch.manual_seed."""

import math

import torch

from kata_runner.testing import solution

EXPECT = "global random generator"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.KAIMING_LAYERS):
        weight = module.weight
        fan_out = weight.shape[0] * math.prod(weight.shape[2:])
        generator = torch.Generator().manual_seed(42)
        values = torch.randn(weight.shape, generator=generator, dtype=weight.dtype) * math.sqrt(2 / fan_out)
        with torch.no_grad():
            weight.copy_(values)
            if module.bias is not None:
                module.bias.zero_()
    else:
        _ref.init_weights(module)
