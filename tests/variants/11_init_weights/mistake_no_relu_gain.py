"""Mistake: nonlinearity='linear' (gain 1), so the std is 1 / sqrt(fan_out) without ReLU's sqrt(2)."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "without the ReLU gain"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, _ref.KAIMING_LAYERS):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="linear")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    else:
        _ref.init_weights(module)
