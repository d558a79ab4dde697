"""Correct: buffers split by asking the owning module (get_submodule) whether the name is in its
_non_persistent_buffers_set; unregistered found by comparing each module's __dict__ with a fresh
nn.Module's, tensors recognised with torch.is_tensor and containers flattened with a generator."""

import torch
from torch import nn


def inventory(module):
    persistent, transient = [], []
    for name, _ in module.named_buffers():
        owner_path, _, leaf = name.rpartition(".")
        owner = module.get_submodule(owner_path)
        (transient if leaf in owner._non_persistent_buffers_set else persistent).append(name)
    internal = nn.Module().__dict__.keys()
    unregistered = []
    for path, sub in module.named_modules():
        for attr in sub.__dict__.keys() - internal:
            value = sub.__dict__[attr]
            inside = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
            if torch.is_tensor(value) or any(isinstance(v, nn.Module) for v in inside):
                unregistered.append(".".join(filter(None, (path, attr))))
    result = {
        "parameters": [name for name, _ in module.named_parameters()],
        "buffers": persistent,
        "non_persistent_buffers": transient,
        "submodules": [name for name, _ in module.named_modules()][1:],
        "unregistered": unregistered,
    }
    return {key: sorted(value) for key, value in result.items()}
