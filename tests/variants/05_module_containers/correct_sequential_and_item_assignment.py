"""Correct: blocks in an nn.Sequential (called as one module), heads added to an empty nn.ModuleDict one by
one, the ReLU as an nn.ReLU submodule (it has no parameters, so the state_dict is unchanged)."""

import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.act = nn.ReLU()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        residual = x
        x = self.act(self.linear(x))
        return self.norm(x + residual)


class MultiHeadNetwork(nn.Module):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.blocks = nn.Sequential(*[Block(dim) for _ in range(num_blocks)])
        self.heads = nn.ModuleDict()
        for name, out in heads.items():
            self.heads[name] = nn.Linear(dim, out)

    def forward(self, x: torch.Tensor, head: str) -> torch.Tensor:
        try:
            layer = self.heads[head]
        except KeyError:
            raise KeyError(f"no head called {head!r}; choose one of: {', '.join(self.heads)}") from None
        return layer(self.blocks(self.embed(x)))
