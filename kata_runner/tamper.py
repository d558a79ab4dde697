"""Detects an implementation that patches torch so that wrong answers compare equal.

A snapshot of torch's public namespaces is taken when this module is first imported, which the
harness does before any learner code runs. Afterwards `changes()` names every attribute that was
replaced, deleted or (on a class) newly shadowed.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import MappingProxyType

import torch
import torch.nn.functional
import torch.testing

_MODULES = {
    "torch": torch,
    "torch.nn.functional": torch.nn.functional,
    "torch.testing": torch.testing,
}
_CLASSES = {
    "torch.Tensor": torch.Tensor,
    "torch._C.TensorBase": torch._C.TensorBase,
    "torch.nn.Module": torch.nn.Module,
    "torch.nn.Parameter": torch.nn.Parameter,
}


_NAMESPACES = {**_MODULES, **_CLASSES}


def _snapshot() -> dict[str, MappingProxyType]:
    return {name: MappingProxyType(dict(vars(ns))) for name, ns in _NAMESPACES.items()}


_SNAPSHOT = _snapshot()


_MISSING = object()
_CACHES = {"__slotnames__"}  # added by copyreg the first time a tensor is pickled (torch.save)
_TORCH_DIR = str(Path(torch.__file__).parent) + os.sep
# What comparisons rest on: checked after every spec. Everything else is checked once per kata.
_QUICK = {
    "torch": ("allclose", "equal", "isclose", "eq", "ne", "all", "any", "abs", "sub", "max", "isfinite", "is_tensor"),
    "torch.testing": ("assert_close",),
    "torch.Tensor": ("__eq__", "__ne__", "__bool__", "eq", "ne", "all", "any", "abs", "sub", "max", "item", "tolist"),
    "torch._C.TensorBase": ("__eq__", "__ne__", "__bool__", "eq", "ne", "all", "any", "abs", "sub", "max", "item"),
}


def _defined_by_torch(value: object) -> bool:
    """torch wraps some of its own functions lazily (importing torch._dynamo, which any optimizer does,
    wraps torch.manual_seed); such a replacement's code lives inside torch's own package."""
    code = getattr(value, "__code__", None)
    return code is not None and code.co_filename.startswith(_TORCH_DIR)


def _replaced(name: str, keys: object) -> list[str]:
    before, now = _SNAPSHOT[name], vars(_NAMESPACES[name])
    found = []
    for key in keys:  # type: ignore[attr-defined]
        current = now.get(key, _MISSING)
        if current is not before.get(key, _MISSING) and not _defined_by_torch(current):
            found.append(f"{name}.{key}")
    return found


def changes(full: bool = True) -> list[str]:
    """Qualified names of torch attributes that differ from the snapshot (only the comparison
    functions in _QUICK unless `full`)."""
    if not full:
        return sorted(hit for name, keys in _QUICK.items() for hit in _replaced(name, keys))
    found = []
    for name in _NAMESPACES:
        before, now = _SNAPSHOT[name], vars(_NAMESPACES[name])
        keys = before.keys() | (now.keys() - _CACHES if name in _CLASSES else set())
        found.extend(_replaced(name, keys))
    return sorted(found)


class TamperingDetected(AssertionError):
    """Raised when the implementation replaced part of torch."""


def message(changed: list[str]) -> str:
    return (
        "the implementation replaced part of torch: "
        + ", ".join(changed[:8])
        + ". Graders compare results with torch itself, so patching torch is not allowed."
    )


def check(full: bool = True) -> None:
    changed = changes(full)
    if changed:
        raise TamperingDetected(message(changed))
