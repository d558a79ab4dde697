"""Mistake: the blocks are kept in a plain Python list, so nn.Module never registers them."""

from kata_runner.testing import solution

EXPECT = "nn.ModuleList"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__(in_dim, dim, num_blocks, heads)
        blocks = list(self.blocks)
        del self.blocks
        self.blocks = blocks
