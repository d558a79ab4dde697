"""Mistake: zeros_(module.bias) without checking for None, which crashes on layers built with bias=False."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "bias=False"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.KAIMING_LAYERS):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(module.bias)
    else:
        _ref.init_weights(module)
