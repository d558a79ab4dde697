"""Mistake: the first matching prefix (dict order) wins instead of the longest one."""

from kata_runner.testing import solution

EXPECT = "longest matching prefix"
_ref = solution("04")
freeze, unfreeze, count_parameters = _ref.freeze, _ref.unfreeze, _ref.count_parameters


def param_groups(model, lr_by_prefix, default_lr):
    buckets = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        key = next((p for p in lr_by_prefix if _ref._matches(name, p)), None)
        lr = default_lr if key is None else lr_by_prefix[key]
        group = buckets.setdefault(key, {"params": [], "lr": lr, "names": []})
        group["params"].append(param)
        group["names"].append(name)
    return list(buckets.values())
