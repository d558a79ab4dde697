"""Mistake: each group's names are sorted on their own, so names[i] no longer names params[i]."""

from kata_runner.testing import solution

EXPECT = "names[i]"
_ref = solution("04")
freeze, unfreeze, count_parameters = _ref.freeze, _ref.unfreeze, _ref.count_parameters


def param_groups(model, lr_by_prefix, default_lr):
    groups = _ref.param_groups(model, lr_by_prefix, default_lr)
    for group in groups:
        group["names"] = sorted(group["names"])
    return groups
