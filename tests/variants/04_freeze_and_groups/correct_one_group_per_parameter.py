"""Correct: every trainable parameter in a group of its own (allowed: each is in exactly one group, with its
own lr), prefixes as component tuples, functional style with filter/map, and a count with torch.numel."""

import torch


def _parts(text):
    return tuple(text.split("."))


def _under(name, prefix):
    head = _parts(prefix)
    return _parts(name)[: len(head)] == head


def _set(model, prefixes, flag):
    prefixes = frozenset(prefixes)
    named = list(model.named_parameters())
    bad = sorted(p for p in prefixes if not any(_under(n, p) for n, _ in named))
    if bad:
        raise ValueError(f"prefixes matching no parameter: {bad}")
    hit = [(n, p) for n, p in named if any(map(lambda q: _under(n, q), prefixes)) and p.requires_grad != flag]
    for _, p in hit:
        p.requires_grad_(flag)
    return sorted(n for n, _ in hit)


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)


def _lr(name, lr_by_prefix, default_lr):
    depth, lr = max(
        ((len(_parts(p)), lr) for p, lr in lr_by_prefix.items() if _under(name, p)), default=(0, default_lr)
    )
    return lr


def param_groups(model, lr_by_prefix, default_lr):
    trainable = filter(lambda item: item[1].requires_grad, model.named_parameters())
    return [{"params": [p], "lr": _lr(n, lr_by_prefix, default_lr), "names": [n]} for n, p in trainable]


def count_parameters(model, trainable_only=False):
    return sum(map(torch.numel, filter(lambda p: p.requires_grad or not trainable_only, model.parameters())))
