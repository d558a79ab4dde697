"""Mistake: Block's LayerNorm is built with elementwise_affine=False, so it has no norm.weight or norm.bias."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "nn.LayerNorm(dim)"
_ref = solution("05")


class Block(_ref.Block):
    def __init__(self, dim):
        super().__init__(dim)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__(in_dim, dim, num_blocks, heads)
        self.blocks = type(self.blocks)([Block(dim) for _ in range(num_blocks)])
