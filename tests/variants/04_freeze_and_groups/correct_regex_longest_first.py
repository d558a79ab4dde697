"""Correct: regex matching, prefixes tried longest first, the default group first, `param.requires_grad = flag`
assigned to every matched parameter, and count_parameters deduplicating by identity over each module's own
parameters."""

import re

from torch import nn


def _pattern(prefix):
    return re.compile(re.escape(prefix) + r"(\..*)?")


def _set(model: nn.Module, prefixes, flag):
    patterns = {p: _pattern(p) for p in prefixes}
    names = [n for n, _ in model.named_parameters()]
    for prefix, pattern in patterns.items():
        if not any(pattern.fullmatch(n) for n in names):
            raise ValueError(f"prefix {prefix!r} matches no parameter")
    matched = []
    for name, param in model.named_parameters():
        if any(pattern.fullmatch(name) for pattern in patterns.values()):
            if param.requires_grad != flag:
                matched.append(name)  # only the names whose flag actually flips
            param.requires_grad = flag
    return sorted(matched)


def freeze(model, prefixes):
    return _set(model, prefixes, False)


def unfreeze(model, prefixes):
    return _set(model, prefixes, True)


def param_groups(model, lr_by_prefix, default_lr):
    ordered = sorted(lr_by_prefix, key=len, reverse=True)
    patterns = [(p, _pattern(p)) for p in ordered]
    default = {"params": [], "lr": default_lr, "names": []}
    groups = {p: {"params": [], "lr": lr_by_prefix[p], "names": []} for p in ordered}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        group = next((groups[p] for p, pat in patterns if pat.fullmatch(name)), default)
        group["params"].append(param)
        group["names"].append(name)
    return [g for g in (default, *groups.values()) if g["params"]]


def count_parameters(model, trainable_only=False):
    seen = {}
    for module in model.modules():
        for param in module._parameters.values():
            if param is not None and (param.requires_grad or not trainable_only):
                seen[id(param)] = param.numel()
    return sum(seen.values())
