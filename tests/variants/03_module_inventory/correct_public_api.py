"""Correct: the registered kinds from nn.Module's public API (named_parameters, named_buffers,
state_dict keys, named_modules); unregistered from vars() of each module, skipping the names a bare
nn.Module() already has."""

import torch
from torch import nn

_INTERNAL = set(vars(nn.Module()))


def _hides_modules(value):
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    return any(isinstance(item, nn.Module) for item in items)


def inventory(module):
    saved = set(module.state_dict().keys())
    buffers = [name for name, _ in module.named_buffers()]
    unregistered = []
    for prefix, sub in module.named_modules():
        for name, value in vars(sub).items():
            if name in _INTERNAL:
                continue
            if isinstance(value, torch.Tensor) or _hides_modules(value):
                unregistered.append(f"{prefix}.{name}" if prefix else name)
    return {
        "parameters": sorted(name for name, _ in module.named_parameters()),
        "buffers": sorted(name for name in buffers if name in saved),
        "non_persistent_buffers": sorted(name for name in buffers if name not in saved),
        "submodules": sorted(name for name, _ in module.named_modules() if name),
        "unregistered": sorted(unregistered),
    }
