"""Correct: component-wise matching on name.split('.'), groups keyed by learning rate (prefixes sharing an lr
merge into one group), and a count over named_parameters()."""

from collections import defaultdict


def _under(name, prefix):
    parts, head = name.split("."), prefix.split(".")
    return parts[: len(head)] == head


def _set(model, prefixes, flag):
    prefixes = list(prefixes)
    named = dict(model.named_parameters())
    missing = [p for p in prefixes if not any(_under(n, p) for n in named)]
    if missing:
        raise ValueError(f"unknown parameter prefix(es): {', '.join(missing)}")
    changed = [n for n, p in named.items() if p.requires_grad != flag and any(_under(n, q) for q in prefixes)]
    for n in changed:
        named[n].requires_grad_(flag)
    return sorted(changed)


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)


def param_groups(model, lr_by_prefix, default_lr):
    by_lr = defaultdict(lambda: ([], []))
    for name, param in model.named_parameters():
        if param.requires_grad:
            depth, lr = max(
                ((len(p.split(".")), lr) for p, lr in lr_by_prefix.items() if _under(name, p)),
                default=(0, default_lr),
            )
            params, names = by_lr[lr]
            params.append(param)
            names.append(name)
    return [{"params": params, "lr": lr, "names": names} for lr, (params, names) in by_lr.items()]


def count_parameters(model, trainable_only=False):
    return sum(p.numel() for _, p in model.named_parameters() if p.requires_grad or not trainable_only)
