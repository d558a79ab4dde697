"""Mistake: count_parameters ignores trainable_only and always counts every parameter."""

from kata_runner.testing import solution

EXPECT = "with trainable_only"
_ref = solution("04")
freeze, unfreeze, param_groups = _ref.freeze, _ref.unfreeze, _ref.param_groups


def count_parameters(model, trainable_only=False):
    return sum(p.numel() for p in model.parameters())
