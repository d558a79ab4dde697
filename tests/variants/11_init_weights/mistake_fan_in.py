"""Mistake: kaiming_normal_ with its default mode='fan_in' instead of mode='fan_out'."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "sqrt(2 / fan_in)"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.KAIMING_LAYERS):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    else:
        _ref.init_weights(module)
