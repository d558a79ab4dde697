"""Mistake: a parameter goes into the group of every prefix it matches, not only the longest (torch raises)."""

from kata_runner.testing import solution

EXPECT = "more than one group"
_ref = solution("04")
freeze, unfreeze, count_parameters = _ref.freeze, _ref.unfreeze, _ref.count_parameters


def param_groups(model, lr_by_prefix, default_lr):
    groups = {p: {"params": [], "lr": lr, "names": []} for p, lr in lr_by_prefix.items()}
    default = {"params": [], "lr": default_lr, "names": []}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        matched = [p for p in lr_by_prefix if _ref._matches(name, p)]
        for p in matched or [None]:
            group = groups[p] if p is not None else default
            group["params"].append(param)
            group["names"].append(name)
    return [g for g in [*groups.values(), default] if g["params"]]
