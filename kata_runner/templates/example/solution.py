"""Kata 01: a learned per-feature scale (reference solution)."""

import torch
from torch import nn


class Scale(nn.Module):
    def __init__(self, num_features: int) -> None:
        super().__init__()
        # Wrapped in nn.Parameter, the tensor is registered: parameters(), state_dict() and .to() see it.
        self.weight = nn.Parameter(torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Broadcasting pairs the weight with the last dimension, whatever the leading ones.
        return x * self.weight
