"""Mistake: forward detaches the signal before every block, so no gradient reaches embed or earlier blocks."""

from kata_runner.testing import solution

EXPECT = "not changed by an optimizer step"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def forward(self, x, head):
        if head not in self.heads:
            raise KeyError(f"unknown head {head!r}; available heads: {sorted(self.heads)}")
        h = self.embed(x)
        for block in self.blocks:
            h = block(h.detach())
        return self.heads[head](h)
