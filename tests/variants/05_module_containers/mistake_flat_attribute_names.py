"""Mistake: blocks registered one by one as attributes block_0, block_1, ... (plus a plain list to loop over):
everything is registered, but the state_dict keys are block_0.linear.weight instead of blocks.0.linear.weight."""

from kata_runner.testing import solution

EXPECT = "under its index"
_ref = solution("05")
Block = _ref.Block


class MultiHeadNetwork(_ref.MultiHeadNetwork):
    def __init__(self, in_dim, dim, num_blocks, heads):
        super().__init__(in_dim, dim, num_blocks, heads)
        blocks = list(self.blocks)
        del self.blocks
        for i, block in enumerate(blocks):
            setattr(self, f"block_{i}", block)
        self.blocks = blocks
