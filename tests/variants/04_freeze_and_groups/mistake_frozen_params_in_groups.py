"""Mistake: frozen parameters are handed to the optimizer too (like SGD(model.parameters()) after freezing)."""

from kata_runner.testing import solution

EXPECT = "left out of the optimizer"
_ref = solution("04")
freeze, unfreeze, count_parameters = _ref.freeze, _ref.unfreeze, _ref.count_parameters


def param_groups(model, lr_by_prefix, default_lr):
    buckets = {}
    for name, param in model.named_parameters():
        key = max((p for p in lr_by_prefix if _ref._matches(name, p)), key=len, default=None)
        lr = default_lr if key is None else lr_by_prefix[key]
        group = buckets.setdefault(key, {"params": [], "lr": lr, "names": []})
        group["params"].append(param)
        group["names"].append(name)
    return list(buckets.values())
