"""Correct: a match statement with class patterns (isinstance semantics, so subclasses match), kaiming_normal_
given positionally with nonlinearity='leaky_relu' and a=0 (the same gain as relu), bias zeroed by mul_(0)."""

import torch
from torch import nn


def init_weights(module):
    match module:
        case nn.Linear() | nn.Conv1d() | nn.Conv2d():
            nn.init.kaiming_normal_(module.weight, 0, "fan_out", "leaky_relu")
            if module.bias is not None:
                with torch.no_grad():
                    module.bias.mul_(0)
        case nn.BatchNorm1d() | nn.BatchNorm2d() | nn.LayerNorm():
            if module.weight is not None:
                nn.init.constant_(module.weight, 1)
            if module.bias is not None:
                nn.init.constant_(module.bias, 0)
        case _:
            pass
