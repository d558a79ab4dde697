"""Mistake: kaiming_normal_ with nonlinearity='tanh' (gain 5/3) instead of 'relu' (gain sqrt(2))."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "tanh gain"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.KAIMING_LAYERS):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="tanh")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    else:
        _ref.init_weights(module)
