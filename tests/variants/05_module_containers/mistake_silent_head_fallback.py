"""Mistake: an unknown head silently falls back to the first head instead of raising KeyError."""

from kata_runner.testing import solution

EXPECT = "must raise KeyError"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def forward(self, x, head):
        if head not in self.heads:
            head = next(iter(self.heads))
        return super().forward(x, head)
