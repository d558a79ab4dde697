"""Mistake: param_groups walks named_parameters(remove_duplicate=False), so a tied weight lands in two groups."""

from kata_runner.testing import solution

EXPECT = "more than one group"
_ref = solution("04")
freeze, unfreeze, count_parameters = _ref.freeze, _ref.unfreeze, _ref.count_parameters


def param_groups(model, lr_by_prefix, default_lr):
    buckets = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        if not param.requires_grad:
            continue
        key = max((p for p in lr_by_prefix if _ref._matches(name, p)), key=len, default=None)
        lr = default_lr if key is None else lr_by_prefix[key]
        group = buckets.setdefault(key, {"params": [], "lr": lr, "names": []})
        group["params"].append(param)
        group["names"].append(name)
    return list(buckets.values())
