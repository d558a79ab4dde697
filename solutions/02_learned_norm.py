"""Kata 02, reference solution: a learned normalisation.

See katas/02_learned_norm.py for the task. The comments below explain each step.
"""

from __future__ import annotations

import torch
from torch import nn


class LearnedNorm(nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_features = num_features
        # eps is a plain number setting, not state: it needs no Parameter and no buffer (a buffer would
        # add an "eps" key to state_dict()).
        self.eps = eps
        # Both statistics are learned, so both are nn.Parameters: nn.Module registers them, which
        # puts them in parameters() (the optimizer's view) and in state_dict() under exactly these
        # attribute names. One value per feature, shape (num_features,), so each feature gets its
        # own shift and scale; a single scalar would force every feature to share them.
        # zeros and ones make the layer start as (almost) the identity. Created in torch's default
        # dtype; layer.to(dtype) / .to(device) cast and move them because they are registered.
        self.learned_mean = nn.Parameter(torch.zeros(num_features))
        self.learned_std = nn.Parameter(torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(*, num_features) -> (*, num_features): (x - learned_mean) / (learned_std + eps)."""
        # Broadcasting aligns the (num_features,) parameters with the last dimension of x, so any
        # leading shape works. eps sits inside the denominator, where it keeps the division finite
        # if learned_std approaches 0. Nothing is detached: autograd must reach both parameters and x.
        # Out-of-place arithmetic never writes into the caller's x, works on any memory layout (no
        # .view()), and keeps x's dtype once the layer has been cast to it.
        return (x - self.learned_mean) / (self.learned_std + self.eps)

