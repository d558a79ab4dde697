"""Mistake: the heads are kept in a plain Python dict, so nn.Module never registers them."""

from kata_runner.testing import solution

EXPECT = "nn.ModuleDict"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__(in_dim, dim, num_blocks, heads)
        plain = dict(self.heads.items())
        del self.heads
        self.heads = plain
