"""Correct: the std computed by hand from the weight's shape and drawn with normal_ under no_grad."""

import math

import torch
from torch import nn


def init_weights(module):
    with torch.no_grad():
        if isinstance(module, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            weight = module.weight
            fan_out = weight.shape[0] * math.prod(weight.shape[2:])
            weight.normal_(0.0, math.sqrt(2.0 / fan_out))
            if module.bias is not None:
                module.bias.zero_()
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
            if module.weight is not None:
                module.weight.fill_(1.0)
            if module.bias is not None:
                module.bias.fill_(0.0)
