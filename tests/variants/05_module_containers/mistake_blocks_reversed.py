"""Mistake: forward runs the blocks last to first."""

from kata_runner.testing import solution

EXPECT = "every block in order"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def forward(self, x, head):
        if head not in self.heads:
            raise KeyError(f"unknown head {head!r}; available heads: {sorted(self.heads)}")
        h = self.embed(x)
        for block in reversed(self.blocks):
            h = block(h)
        return self.heads[head](h)
