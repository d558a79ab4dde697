"""Correct: the std built from nn.init.calculate_gain('relu') and the fan_out counted by hand, drawn with
nn.init.normal_; norm layers through nn.init.ones_/zeros_, dispatched with issubclass on type(module)."""

import math

from torch import nn


def init_weights(module):
    kind = type(module)
    if issubclass(kind, (nn.Linear, nn.Conv1d, nn.Conv2d)):
        w = module.weight
        fan_out = w.size(0)
        for k in w.shape[2:]:
            fan_out *= k
        nn.init.normal_(w, mean=0.0, std=nn.init.calculate_gain("relu") / math.sqrt(fan_out))
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif issubclass(kind, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
        if module.weight is not None:
            nn.init.ones_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
