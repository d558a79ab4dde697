"""Mistake: xavier_normal_ (std sqrt(2 / (fan_in + fan_out))) instead of Kaiming normal over fan_out."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "Xavier"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.KAIMING_LAYERS):
        nn.init.xavier_normal_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    else:
        _ref.init_weights(module)
