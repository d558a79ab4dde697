"""Mistake: count_parameters sums over state_dict(), which also holds buffers (and a tied weight twice)."""

from kata_runner.testing import solution

EXPECT = "buffers, not parameters"
_ref = solution("04")
freeze, unfreeze, param_groups = _ref.freeze, _ref.unfreeze, _ref.param_groups


def count_parameters(model, trainable_only=False):
    frozen = {id(p) for p in model.parameters() if not p.requires_grad}
    return sum(v.numel() for v in model.state_dict(keep_vars=True).values() if not (trainable_only and id(v) in frozen))
