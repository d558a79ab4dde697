"""Mistake: count_parameters returns a 0-d tensor (torch.tensor([...]).sum()) instead of a plain int."""

import torch

from kata_runner.testing import solution

EXPECT = "plain int"
_ref = solution("04")
freeze, unfreeze, param_groups = _ref.freeze, _ref.unfreeze, _ref.param_groups


def count_parameters(model, trainable_only=False):
    return torch.tensor([p.numel() for p in model.parameters() if p.requires_grad or not trainable_only]).sum()
