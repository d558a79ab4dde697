"""Mistake: forward sets grad mode from self.training (as if eval meant no_grad), so it switches grad mode on
for a caller under torch.no_grad() and leaves it switched."""

import torch

from kata_runner.testing import solution

EXPECT = "still records autograd history"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def forward(self, x, head):
        torch.set_grad_enabled(self.training)
        return super().forward(x, head)
