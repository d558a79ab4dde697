"""Correct: Block normalises by hand (mean and biased variance over the last dimension, eps 1e-5) with its
norm's weight and bias, and computes the linear layer with einsum; heads are built in sorted order (the
state_dict keys are the same set) and applied with einsum too; the KeyError joins the head names."""

import torch
from torch import nn


def linear(x, layer):
    return torch.einsum("...i,oi->...o", x, layer.weight) + layer.bias


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        h = torch.where(linear(x, self.linear) > 0, linear(x, self.linear), 0.0) + x
        mean = h.mean(-1, keepdim=True)
        var = h.var(-1, unbiased=False, keepdim=True)
        return (h - mean) / torch.sqrt(var + self.norm.eps) * self.norm.weight + self.norm.bias


class MultiHeadNetwork(nn.Module):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.blocks = nn.ModuleList(map(lambda _: Block(dim), range(num_blocks)))
        self.heads = nn.ModuleDict({name: nn.Linear(dim, heads[name]) for name in sorted(heads)})

    def forward(self, x, head):
        if head not in self.heads:
            raise KeyError("unknown head " + repr(head) + "; use one of " + ", ".join(self.heads.keys()))
        h = linear(x, self.embed)
        for block in self.blocks:
            h = block(h)
        return linear(h, self.heads[head])
