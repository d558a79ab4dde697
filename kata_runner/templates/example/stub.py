"""Kata 01: a learned per-feature scale.

The smallest layer with learnable state. nn.Module tracks what you assign to it only when it is an
nn.Parameter (or a submodule): that registry is what parameters(), state_dict(), .to(device) and every
optimizer read. Build Scale so that an optimizer can train it.

The contract (`kata check 01` holds you to exactly this):

- Scale(num_features) registers one Parameter, `weight`, of shape (num_features,), initialised to
  ones (a fresh Scale changes nothing); state_dict() holds exactly it.
- forward(x), for x of shape (*, num_features) (any leading dimensions, contiguous or not), in float32
  or float64 on any device, returns x * weight, feature by feature, in x's shape, dtype and device.
"""

import torch
from torch import nn


class Scale(nn.Module):
    def __init__(self, num_features: int) -> None:
        super().__init__()
        # TODO: register `weight`, a Parameter of ones of shape (num_features,).
        raise NotImplementedError("Scale.__init__: register the weight Parameter")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TODO: scale each feature (the last dimension) of x by its weight.
        raise NotImplementedError("Scale.forward")
