"""Mistake: kaiming_uniform_ (same std, but uniform) instead of kaiming_normal_."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "not normally distributed"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.KAIMING_LAYERS):
        nn.init.kaiming_uniform_(module.weight, mode="fan_out", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    else:
        _ref.init_weights(module)
