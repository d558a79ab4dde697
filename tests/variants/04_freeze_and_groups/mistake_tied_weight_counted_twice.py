"""Mistake: count_parameters walks every module's own parameters, so a tied weight is counted twice."""

from kata_runner.testing import solution

EXPECT = "counted once"
_ref = solution("04")
freeze, unfreeze, param_groups = _ref.freeze, _ref.unfreeze, _ref.param_groups


def count_parameters(model, trainable_only=False):
    total = 0
    for module in model.modules():
        for p in module.parameters(recurse=False):
            if p.requires_grad or not trainable_only:
                total += p.numel()
    return total
