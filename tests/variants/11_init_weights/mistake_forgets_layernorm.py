"""Mistake: only BatchNorm layers get ones/zeros; LayerNorm keeps whatever it had."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "norm layers must be initialised"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, nn.LayerNorm):
        return
    _ref.init_weights(module)
