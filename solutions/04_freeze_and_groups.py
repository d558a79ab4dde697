"""Kata 04, reference solution: freezing layers and optimizer parameter groups.

See katas/04_freeze_and_groups.py for the task. The comments below explain each step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from torch import nn


def _matches(name: str, prefix: str) -> bool:
    # A dotted prefix names a module or a parameter: the whole name, or everything below it.
    # The "." keeps "layer1" from matching "layer10.weight" (a plain startswith would).
    return name == prefix or name.startswith(prefix + ".")


def _set_requires_grad(model: nn.Module, prefixes: Iterable[str], flag: bool) -> list[str]:
    # Read the prefixes once, into our own list: a generator can only be iterated once, and the
    # caller's list must not be modified.
    prefixes = list(prefixes)
    # named_parameters() yields a shared (tied) parameter once, under its first name: those are the
    # names the contract speaks of.
    named = list(model.named_parameters())
    # Validate every prefix before touching anything, so a typo leaves the model as it was.
    unmatched = [p for p in prefixes if not any(_matches(name, p) for name, _ in named)]
    if unmatched:
        raise ValueError(f"no parameter name matches the prefix(es) {unmatched}")
    changed = []
    for name, param in named:
        # Only the parameters whose flag actually flips are named: one already frozen (or already
        # trainable) is left alone, so a second identical call returns [].
        if any(_matches(name, p) for p in prefixes) and param.requires_grad != flag:
            # requires_grad_ flips the leaf's flag in place (the same Parameter object, so an
            # optimizer already holding it sees the change): autograd stops (or resumes) computing
            # its .grad. It does not clear a .grad that is already there. It works the same under
            # torch.no_grad().
            param.requires_grad_(flag)
            changed.append(name)
    return sorted(changed)


def freeze(model: nn.Module, prefixes: Iterable[str]) -> list[str]:
    """Set requires_grad=False on every parameter under one of `prefixes`; return the sorted names changed."""
    return _set_requires_grad(model, prefixes, False)


def unfreeze(model: nn.Module, prefixes: Iterable[str]) -> list[str]:
    """Set requires_grad=True on every parameter under one of `prefixes`; return the sorted names changed."""
    return _set_requires_grad(model, prefixes, True)


def param_groups(model: nn.Module, lr_by_prefix: Mapping[str, float], default_lr: float) -> list[dict[str, Any]]:
    """Optimizer parameter groups: each trainable parameter in the group of its longest matching prefix."""
    # One bucket per prefix, plus None for the default; dicts keep insertion order.
    buckets: dict[str | None, dict[str, Any]] = {}
    for name, param in model.named_parameters():
        # Frozen parameters stay out: an optimizer would still update them from a stale .grad.
        if not param.requires_grad:
            continue
        # The longest matching prefix wins, so each parameter lands in exactly one group; torch
        # raises if the same parameter appears in two groups.
        matching = [p for p in lr_by_prefix if _matches(name, p)]
        key = max(matching, key=len) if matching else None
        lr = lr_by_prefix[key] if key is not None else default_lr
        # lr_by_prefix is only read, never modified; a prefix that matches nothing gets no bucket.
        group = buckets.setdefault(key, {"params": [], "lr": lr, "names": []})
        group["params"].append(param)
        group["names"].append(name)
    # Only buckets that received a parameter exist, so empty groups are never returned.
    return list(buckets.values())


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """The number of scalars in the model's parameters (a shared parameter counted once)."""
    # model.parameters() deduplicates shared parameters and never includes buffers
    # (state_dict() would list both a tied weight twice and every buffer). Python's sum of ints is
    # a plain int (0 for a model without parameters).
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)

