"""Mistake: weight.normal_() on a Parameter outside torch.no_grad(): autograd refuses in-place writes to a
leaf that requires grad."""

import math

from kata_runner.testing import solution

EXPECT = "under torch.no_grad()"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.KAIMING_LAYERS):
        fan_out = module.weight.shape[0] * math.prod(module.weight.shape[2:])
        module.weight.normal_(0.0, math.sqrt(2 / fan_out))
        if module.bias is not None:
            module.bias.zero_()
    else:
        _ref.init_weights(module)
