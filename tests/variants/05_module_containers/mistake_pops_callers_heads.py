"""Mistake: the constructor consumes the caller's heads dict with popitem(), leaving it empty."""

from torch import nn

from kata_runner.testing import solution

EXPECT = "never modify it"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__(in_dim, dim, num_blocks, dict(heads))
        self.heads = nn.ModuleDict()
        while heads:
            name, out = heads.popitem()
            self.heads[name] = nn.Linear(dim, out)
