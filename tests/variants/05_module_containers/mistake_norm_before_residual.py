"""Mistake: the LayerNorm is applied before the residual add: x + norm(relu(linear(x)))."""

import torch.nn.functional as F

from kata_runner.testing import solution

EXPECT = "after the residual"
_ref = solution("05")


class Block(_ref.Block):
    def forward(self, x):
        return x + self.norm(F.relu(self.linear(x)))


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__(in_dim, dim, num_blocks, heads)
        self.blocks = type(self.blocks)([Block(dim) for _ in range(num_blocks)])
