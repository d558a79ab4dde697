"""Kata 03, reference solution: what does nn.Module track?

See katas/03_module_inventory.py for the task. The comments below explain each step.
"""

from __future__ import annotations

import torch
from torch import nn

KEYS = ("parameters", "buffers", "non_persistent_buffers", "submodules", "unregistered")

# nn.Module keeps its own registries and hook tables as instance attributes (_parameters, _buffers,
# _modules, _forward_hooks, ...). _modules is a dict full of modules, but it is the registry itself,
# not something hidden from it: skip every attribute that a bare nn.Module() already has.
_BOOKKEEPING = frozenset(vars(nn.Module()))


def _qualified(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _holds_modules(value: object) -> bool:
    """A plain Python container with at least one nn.Module inside: nn.Module never looks in there."""
    if isinstance(value, dict):
        return any(isinstance(item, nn.Module) for item in value.values())
    if isinstance(value, (list, tuple)):
        return any(isinstance(item, nn.Module) for item in value)
    return False


def inventory(module: nn.Module) -> dict[str, list[str]]:
    """Sorted, dotted names of everything `module` tracks, and of what it fails to track."""
    found: dict[str, list[str]] = {key: [] for key in KEYS}
    seen: set[int] = set()  # ids of the tensors already listed: a tied Parameter is one object

    # named_modules() walks the registered tree (the _modules dicts) depth first, root first, and
    # yields a module shared between two places only once, under the first path that reaches it.
    for prefix, sub in module.named_modules():
        if prefix:
            found["submodules"].append(prefix)  # the root has the empty name and is excluded

        # _parameters is what nn.Module.__setattr__ fills when an nn.Parameter is assigned.
        # register_parameter("bias", None) leaves a None entry: there is no tensor to list.
        for name, param in sub._parameters.items():
            if param is None or id(param) in seen:
                # Tied weights (decoder.weight = encoder.weight): one object, listed once.
                continue
            seen.add(id(param))
            found["parameters"].append(_qualified(prefix, name))

        # _buffers holds every buffer; the names registered with persistent=False are also in
        # _non_persistent_buffers_set, and state_dict() leaves exactly those out. A buffer shared by
        # two modules is one tensor: `seen` keeps it under its first name, as named_buffers() does,
        # and its persistence is that of the name it is listed under.
        for name, buf in sub._buffers.items():
            if buf is None or id(buf) in seen:
                continue
            seen.add(id(buf))
            kind = "non_persistent_buffers" if name in sub._non_persistent_buffers_set else "buffers"
            found[kind].append(_qualified(prefix, name))

        # Anything else that was assigned went into the instance __dict__ (vars(sub)): a plain
        # tensor there is neither a parameter nor a buffer (the seed's BrokenLayer), and a Python
        # list/tuple/dict of modules hides them from the registry (the seed's BadModel). Private names
        # ("_cache") are skipped only if they are nn.Module's own bookkeeping: a private plain tensor is
        # as unregistered as a public one. Nothing is changed: inventory only looks.
        for name, value in vars(sub).items():
            if name in _BOOKKEEPING:
                continue
            if torch.is_tensor(value) or _holds_modules(value):
                found["unregistered"].append(_qualified(prefix, name))

    return {key: sorted(names) for key, names in found.items()}
