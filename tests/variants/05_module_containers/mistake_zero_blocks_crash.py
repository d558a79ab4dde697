"""Mistake: forward keeps the blocks' result in a name only set inside the loop; num_blocks=0 crashes."""

from kata_runner.testing import solution

EXPECT = "num_blocks=0"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def forward(self, x, head):
        if head not in self.heads:
            raise KeyError(f"unknown head {head!r}; available heads: {sorted(self.heads)}")
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
            out = h
        return self.heads[head](out)  # noqa: F821 - unbound when there are no blocks
