"""Mistake: draws the weights with numpy's random generator, which torch.manual_seed does not control."""

import math

import numpy as np
import torch

from kata_runner.testing import solution

EXPECT = "not reproducible"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.KAIMING_LAYERS):
        fan_out = module.weight.shape[0] * math.prod(module.weight.shape[2:])
        values = np.random.normal(0.0, math.sqrt(2 / fan_out), tuple(module.weight.shape))
        with torch.no_grad():
            module.weight.copy_(torch.from_numpy(values))
            if module.bias is not None:
                module.bias.zero_()
    else:
        _ref.init_weights(module)
