"""Mistake: Block.forward creates self.norm but never calls it: relu(linear(x)) + x."""

import torch.nn.functional as F

from kata_runner.testing import solution

EXPECT = "LayerNorm is never applied"
_ref = solution("05")


class Block(_ref.Block):
    def forward(self, x):
        return F.relu(self.linear(x)) + x


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__(in_dim, dim, num_blocks, heads)
        self.blocks = type(self.blocks)([Block(dim) for _ in range(num_blocks)])
