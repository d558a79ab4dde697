"""Mistake: torch.set_grad_enabled(False) before writing in place, which leaves gradients off for the caller."""

import torch

from kata_runner.testing import solution

EXPECT = "switched grad mode"
_ref = solution("11")


def init_weights(module):
    torch.set_grad_enabled(False)
    _ref.init_weights(module)
