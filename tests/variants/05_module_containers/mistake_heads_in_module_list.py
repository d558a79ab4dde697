"""Mistake: the heads are kept in an nn.ModuleList in sorted order with a list of names beside it: they are
registered, but under indices (heads.0.weight), not under their names (heads.cls.weight)."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "under its name"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__(in_dim, dim, num_blocks, heads)
        self.head_names = sorted(heads)
        del self.heads
        self.heads = nn.ModuleList([nn.Linear(dim, heads[name]) for name in self.head_names])

    def forward(self, x, head):
        if head not in self.head_names:
            raise KeyError(f"unknown head {head!r}; available heads: {self.head_names}")
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return self.heads[self.head_names.index(head)](h)
