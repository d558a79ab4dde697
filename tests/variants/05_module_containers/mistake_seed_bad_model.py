"""Mistake: the seed notebook's BadModel, a Python list of blocks and a Python dict of heads."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "plain Python"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(nn.Module):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__()
        self.embed = nn.Linear(in_dim, dim)
        self.blocks = [Block(dim) for _ in range(num_blocks)]
        self.heads = {name: nn.Linear(dim, out) for name, out in heads.items()}

    def forward(self, x, head):
        if head not in self.heads:
            raise KeyError(f"unknown head {head!r}; available: {sorted(self.heads)}")
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return self.heads[head](h)
