"""Kata 01, reference solution: a linear layer from scratch.

See katas/01_custom_linear.py for the task. The comments below explain each step.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
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
        factory = {"device": device, "dtype": dtype}
        # Assigning an nn.Parameter goes through nn.Module.__setattr__, which records it in
        # self._parameters: that is what parameters(), state_dict(), .to() and optimizers read.
        # (out_features, in_features) is nn.Linear's layout, so state_dicts are interchangeable.
        self.weight = nn.Parameter(torch.empty(out_features, in_features, **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features, **factory))
        else:
            # Registering None keeps the attribute (layer.bias is None) without a state_dict entry.
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise weight (and bias) the way nn.Linear does."""
        # kaiming_uniform_ with a=sqrt(5) draws from U(-1/sqrt(fan_in), 1/sqrt(fan_in)): the scale
        # keeps activations from growing layer after layer; randomness breaks the symmetry
        # between output units, which all-zero weights would never do.
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)  # in_features >= 1 by contract
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(*, in_features) -> (*, out_features): x @ weight.T + bias."""
        # F.linear accepts any number of leading dimensions and skips a None bias.
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
