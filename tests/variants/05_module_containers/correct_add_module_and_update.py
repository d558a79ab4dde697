"""Correct: Block registers its layers with register_module and computes relu as clamp(min=0) on F.linear;
blocks added one by one with add_module(str(i), ...), heads through ModuleDict.update; forward indexes the
blocks by position and checks the head name against list(self.heads)."""

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.register_module("linear", nn.Linear(dim, dim))
        self.register_module("norm", nn.LayerNorm(dim))

    def forward(self, x):
        h = F.linear(x, self.linear.weight, self.linear.bias).clamp(min=0)
        return self.norm(h + x)


class MultiHeadNetwork(nn.Module):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.blocks = nn.ModuleList()
        for i in range(num_blocks):
            self.blocks.add_module(str(i), Block(dim))
        self.heads = nn.ModuleDict()
        self.heads.update({name: nn.Linear(dim, out) for name, out in heads.items()})

    def forward(self, x: torch.Tensor, head: str) -> torch.Tensor:
        names = list(self.heads)
        if head not in names:
            raise KeyError(f"{head!r} is not a head; the heads are {names}")
        h = self.embed(x)
        for i in range(len(self.blocks)):
            h = self.blocks[i](h)
        return self.heads[head](h)
