"""Mistake: dispatch on nn.modules.conv._ConvNd, which also re-initialises Conv3d (and transposed convolutions)."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "left untouched"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    else:
        _ref.init_weights(module)
