"""Mistake: Block.forward adds the residual in place into its input (x += ...), writing into the caller's x."""

import torch.nn.functional as F

from kata_runner.testing import solution

EXPECT = "changed the input tensor in place"
_ref = solution("05")


class Block(_ref.Block):
    def forward(self, x):
        x += F.relu(self.linear(x))
        return self.norm(x)


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__(in_dim, dim, num_blocks, heads)
        self.blocks = type(self.blocks)([Block(dim) for _ in range(num_blocks)])
