"""Correct: the persistent buffers are the entries of state_dict(keep_vars=True) that are buffers
(not Parameters), kept under the name named_buffers() gives them; a set difference gives the rest."""

import torch
from torch import nn


def inventory(module):
    state = module.state_dict(keep_vars=True)
    saved_buffers = {id(t) for name, t in state.items() if not isinstance(t, nn.Parameter)}
    all_buffers = list(module.named_buffers())
    persistent = {name for name, b in all_buffers if name in state and id(b) in saved_buffers}
    unregistered = set()
    bookkeeping = set(vars(nn.Module()))
    for prefix, sub in module.named_modules():
        for name, value in vars(sub).items():
            if name in bookkeeping:
                continue
            hides = isinstance(value, (list, tuple, dict)) and any(
                isinstance(v, nn.Module) for v in (value.values() if isinstance(value, dict) else value)
            )
            if isinstance(value, torch.Tensor) or hides:
                unregistered.add(prefix + "." + name if prefix else name)
    return {
        "parameters": sorted(dict(module.named_parameters())),
        "buffers": sorted(persistent),
        "non_persistent_buffers": sorted({name for name, _ in all_buffers} - persistent),
        "submodules": sorted(name for name, _ in module.named_modules() if name != ""),
        "unregistered": sorted(unregistered),
    }
