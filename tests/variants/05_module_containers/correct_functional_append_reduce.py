"""Correct: Block computed with torch.relu and F.layer_norm on its own norm's parameters; blocks appended to
an empty nn.ModuleList from a generator; forward folds the blocks with functools.reduce."""

from functools import reduce

import torch
import torch.nn.functional as F
from torch import nn


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        h = torch.relu(x @ self.linear.weight.T + self.linear.bias).add(x)
        return F.layer_norm(h, self.norm.normalized_shape, self.norm.weight, self.norm.bias, self.norm.eps)


class MultiHeadNetwork(nn.Module):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.blocks = nn.ModuleList()
        self.blocks.extend(Block(dim) for _ in range(num_blocks))
        self.heads = nn.ModuleDict((name, nn.Linear(dim, out)) for name, out in heads.items())

    def forward(self, x, head):
        if head not in self.heads.keys():
            raise KeyError(head, "available:", list(self.heads.keys()))
        h = reduce(lambda acc, block: block(acc), self.blocks, self.embed(x))
        return self.heads[head](h)
