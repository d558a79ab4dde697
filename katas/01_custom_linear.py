"""Kata 01: a linear layer from scratch.

nn.Linear is the simplest layer with learnable state, which makes it the best place to see how
nn.Module keeps track of that state. Build CustomLinear so that it can stand in for nn.Linear:

- `weight` is an nn.Parameter of shape (out_features, in_features), the layout nn.Linear uses,
  so that state_dicts load both ways between the two layers.
- `bias` is an nn.Parameter of shape (out_features,); with bias=False it is registered as None
  (`self.register_parameter("bias", None)`): `layer.bias is None`, and it appears in neither
  named_parameters() nor state_dict().
- Initialise like nn.Linear: weight ~ U(-1/sqrt(in_features), 1/sqrt(in_features)), which is what
  `nn.init.kaiming_uniform_(weight, a=math.sqrt(5))` gives; bias zeros or in that same range.
  Unscaled randn makes activations grow with every layer; all-zero weights make every output unit
  identical forever (nothing breaks the symmetry).
- forward(x) takes any shape (*, in_features) and returns (*, out_features) = x @ weight.T + bias.
- Honour the factory arguments: the parameters are created on `device` with `dtype`.
- repr(layer) shows `in_features=10, out_features=5, bias=True` (override `extra_repr`).

Why Parameters? nn.Module's __setattr__ registers an nn.Parameter in `self._parameters`; that
registry is what parameters(), state_dict(), .to(device) and every optimizer read. A plain tensor
attribute is invisible to all of them (the seed notebook's "BrokenLayer").

Run `kata check 01` to grade this file, `kata hint 01` when stuck.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class CustomLinear(nn.Module):
    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        # TODO: create self.weight, an nn.Parameter of shape (out_features, in_features) on `device`
        #       with `dtype`, and self.bias of shape (out_features,), or register it as None when
        #       bias is False. Then call self.reset_parameters().
        raise NotImplementedError("CustomLinear.__init__: create weight and bias as nn.Parameters")

    def reset_parameters(self) -> None:
        """Initialise weight (and bias) the way nn.Linear does."""
        # TODO: weight ~ U(-1/sqrt(in_features), 1/sqrt(in_features)); bias zeros or the same range.
        #       math.sqrt and nn.init.kaiming_uniform_ / nn.init.uniform_ are all you need.
        raise NotImplementedError("CustomLinear.reset_parameters: initialise like nn.Linear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(*, in_features) -> (*, out_features): x @ weight.T + bias."""
        # TODO: compute the affine map for any number of leading dimensions; skip the bias if it is None.
        raise NotImplementedError("CustomLinear.forward: compute x @ weight.T + bias")

    def extra_repr(self) -> str:
        # TODO: return "in_features=..., out_features=..., bias=..." (bias is True when self.bias exists).
        raise NotImplementedError("CustomLinear.extra_repr: describe the layer's sizes")
