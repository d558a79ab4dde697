"""Mistake: prefixes matched as substrings (`prefix in name`), so 'layer1' also matches 'layer10.weight'."""

from kata_runner.testing import solution

EXPECT = "dotted prefix"
_ref = solution("04")
count_parameters = _ref.count_parameters


def _set(model, prefixes, flag):
    named = list(model.named_parameters())
    for p in prefixes:
        if not any(p in name for name, _ in named):
            raise ValueError(f"no parameter matches {p!r}")
    changed = []
    for name, param in named:
        if any(p in name for p in prefixes) and param.requires_grad != flag:
            param.requires_grad_(flag)
            changed.append(name)
    return sorted(changed)


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)


def param_groups(model, lr_by_prefix, default_lr):
    buckets = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        key = max((p for p in lr_by_prefix if p in name), key=len, default=None)
        lr = default_lr if key is None else lr_by_prefix[key]
        group = buckets.setdefault(key, {"params": [], "lr": lr, "names": []})
        group["params"].append(param)
        group["names"].append(name)
    return list(buckets.values())
