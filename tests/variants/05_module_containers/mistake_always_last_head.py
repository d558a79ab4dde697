"""Mistake: forward validates the head name, then always runs the last head."""

from kata_runner.testing import solution

EXPECT = "selects which head runs"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def forward(self, x, head):
        if head not in self.heads:
            raise KeyError(f"unknown head {head!r}; available heads: {sorted(self.heads)}")
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return list(self.heads.values())[-1](h)
