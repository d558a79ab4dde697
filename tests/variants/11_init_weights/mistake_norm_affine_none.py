"""Mistake: ones_(weight) / zeros_(bias) on norm layers without checking for None (affine=False)."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "affine=False"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.NORM_LAYERS):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
    else:
        _ref.init_weights(module)
