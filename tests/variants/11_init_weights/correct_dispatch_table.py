"""Correct: a table of (layer types, initialiser) pairs; constant_ and the default leaky_relu(a=0) gain."""

from torch import nn


def _kaiming(module):
    # nonlinearity='leaky_relu' with a=0 (kaiming_normal_'s default) has the same gain as 'relu': sqrt(2).
    nn.init.kaiming_normal_(module.weight, a=0, mode="fan_out")
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, 0.0)


def _identity_norm(module):
    for name, value in (("weight", 1.0), ("bias", 0.0)):
        param = getattr(module, name, None)
        if param is not None:
            nn.init.constant_(param, value)


RULES = [
    ((nn.Linear, nn.Conv1d, nn.Conv2d), _kaiming),
    ((nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm), _identity_norm),
]


def init_weights(module):
    for types, initialise in RULES:
        if isinstance(module, types):
            initialise(module)
            return
