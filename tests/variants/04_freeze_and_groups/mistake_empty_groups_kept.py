"""Mistake: one group per prefix plus a default group, even when a group ends up empty."""

from kata_runner.testing import solution

EXPECT = "empty group"
_ref = solution("04")
freeze, unfreeze, count_parameters = _ref.freeze, _ref.unfreeze, _ref.count_parameters


def param_groups(model, lr_by_prefix, default_lr):
    groups = {p: {"params": [], "lr": lr, "names": []} for p, lr in lr_by_prefix.items()}
    groups[None] = {"params": [], "lr": default_lr, "names": []}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        key = max((p for p in lr_by_prefix if _ref._matches(name, p)), key=len, default=None)
        groups[key]["params"].append(param)
        groups[key]["names"].append(name)
    return list(groups.values())
