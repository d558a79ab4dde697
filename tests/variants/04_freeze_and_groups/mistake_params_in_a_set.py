"""Mistake: each group collects its parameters in a set, which torch.optim refuses (parameters must be ordered)."""

from kata_runner.testing import solution

EXPECT = "ordered collection"
_ref = solution("04")
freeze, unfreeze, count_parameters = _ref.freeze, _ref.unfreeze, _ref.count_parameters


def param_groups(model, lr_by_prefix, default_lr):
    groups = _ref.param_groups(model, lr_by_prefix, default_lr)
    for group in groups:
        group["params"] = set(group["params"])
    return groups
