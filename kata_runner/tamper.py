"""Detects an implementation that patches torch so that wrong answers compare equal.

A snapshot of torch's public namespaces is taken when this module is first imported, which the
harness does before any learner code runs. Afterwards `changes()` names every attribute that was
replaced, deleted or (on a class) newly shadowed.
"""

from __future__ import annotations

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


def _snapshot() -> dict[str, MappingProxyType]:
    namespaces = {**_MODULES, **_CLASSES}
    return {name: MappingProxyType(dict(vars(ns))) for name, ns in namespaces.items()}


_SNAPSHOT = _snapshot()


_MISSING = object()
_CACHES = {"__slotnames__"}  # added by copyreg the first time a tensor is pickled (torch.save)
_TORCH_DIR = Path(torch.__file__).resolve().parent


def _defined_by_torch(value: object) -> bool:
    """torch wraps some of its own functions lazily (importing torch._dynamo, which any optimizer does,
    wraps torch.manual_seed); such a replacement's code lives inside torch's own package."""
    code = getattr(value, "__code__", None)
    return code is not None and Path(code.co_filename).resolve().is_relative_to(_TORCH_DIR)


def changes() -> list[str]:
    """Qualified names of torch attributes that differ from the snapshot."""
    found = []
    for name, ns in {**_MODULES, **_CLASSES}.items():
        before, now = _SNAPSHOT[name], vars(ns)
        for key, value in before.items():
            current = now.get(key, _MISSING)
            if current is not value and not _defined_by_torch(current):
                found.append(f"{name}.{key}")
        if name in _CLASSES:
            added = now.keys() - before.keys() - _CACHES
            found.extend(f"{name}.{key}" for key in added if not _defined_by_torch(now[key]))
    return sorted(found)


class TamperingDetected(AssertionError):
    """Raised when the implementation replaced part of torch."""


def check() -> None:
    changed = changes()
    if changed:
        raise TamperingDetected(
            "the implementation replaced part of torch: "
            + ", ".join(changed[:8])
            + ". Graders compare results with torch itself, so patching torch is not allowed."
        )
