"""Mistake: [Block(dim)] * num_blocks repeats one Block, so every position shares its weights."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "same Block"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__(in_dim, dim, num_blocks, heads)
        self.blocks = nn.ModuleList([Block(dim)] * num_blocks)
