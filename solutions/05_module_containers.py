"""Kata 05, reference solution: containers, nn.ModuleList and nn.ModuleDict.

See katas/05_module_containers.py for the task. The comments below explain each step.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    """A residual block, dim -> dim: norm(relu(linear(x)) + x)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        # Assigning Modules as attributes registers them: state_dict keys linear.* and norm.*.
        self.linear = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(*, dim) -> (*, dim)."""
        # ReLU first, then the residual add, and the LayerNorm last (post-norm): the norm sees the sum.
        # The add is out of place: `x += ...` would write into the caller's tensor.
        return self.norm(F.relu(self.linear(x)) + x)


class MultiHeadNetwork(nn.Module):
    """embed -> blocks -> one of several named heads."""

    def __init__(self, in_dim: int, dim: int, num_blocks: int, heads: dict[str, int]) -> None:
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        # nn.ModuleList is a Module that registers each item under its index: blocks.0, blocks.1, ...
        # A plain list is not a Module, so nn.Module.__setattr__ would store it as an ordinary attribute
        # and parameters(), state_dict(), .to() and the optimizer would never see the Blocks inside.
        # The comprehension builds a new Block per position; [Block(dim)] * n would repeat one Block,
        # so every position would share the same weights.
        self.blocks = nn.ModuleList([Block(dim) for _ in range(num_blocks)])
        # nn.ModuleDict does the same for named modules: heads.<name>.weight, heads.<name>.bias.
        # heads.items() only reads the caller's dict; popping from it would empty theirs.
        self.heads = nn.ModuleDict({name: nn.Linear(dim, out) for name, out in heads.items()})

    def forward(self, x: torch.Tensor, head: str) -> torch.Tensor:
        """(*, in_dim) -> (*, heads[head])."""
        # Check the head first: ModuleDict's own KeyError names only the missing key, which does not
        # tell the caller what they could have asked for.
        if head not in self.heads:
            raise KeyError(f"unknown head {head!r}; available heads: {sorted(self.heads.keys())}")
        h = self.embed(x)
        # Reassigning h in the loop means zero blocks simply leaves h = embed(x).
        for block in self.blocks:
            h = block(h)
        return self.heads[head](h)
