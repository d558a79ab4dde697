"""Correct: the containers are subclasses of nn.ModuleList and nn.ModuleDict (still Modules, so everything
registers), Block keeps an nn.ReLU submodule and calls its layers through __call__, and forward reaches
the head through getattr on the ModuleDict after checking its keys."""

from torch import nn


class Blocks(nn.ModuleList):
    def forward(self, h):
        for block in self:
            h = block(h)
        return h


class Heads(nn.ModuleDict):
    def pick(self, name):
        if name not in self.keys():
            raise KeyError(f"no head {name!r}: available heads are {sorted(self.keys())}")
        return self[name]


class Block(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.relu = nn.ReLU()
        self.linear = nn.Linear(dim, dim)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(self.relu(self.linear(x)) + x)


class MultiHeadNetwork(nn.Module):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.blocks = Blocks(Block(dim) for _ in range(num_blocks))
        self.heads = Heads((name, nn.Linear(dim, out)) for name, out in heads.items())

    def forward(self, x, head):
        layer = self.heads.pick(head)
        return layer(self.blocks(self.embed(x)))
