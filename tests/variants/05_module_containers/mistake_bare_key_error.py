"""Mistake: an unknown head lets ModuleDict's bare KeyError through, which names no available head."""

from kata_runner.testing import solution

EXPECT = "available heads"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def forward(self, x, head):
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return self.heads[head](h)
