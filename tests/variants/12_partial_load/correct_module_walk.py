"""Correct: walk every module's own _parameters and persistent _buffers; copy with an explicit .to()."""

import torch
from torch import nn


class LoadReport:
    def __init__(self, loaded, mismatched, missing, unexpected):
        self.loaded = sorted(loaded)
        self.mismatched = sorted(mismatched)
        self.missing = sorted(missing)
        self.unexpected = sorted(unexpected)


def _own_tensors(model):
    found = {}
    for prefix, module in model.named_modules():
        dot = f"{prefix}." if prefix else ""
        for name, param in module._parameters.items():
            if param is not None:
                found[dot + name] = param
        for name, buf in module._buffers.items():
            if buf is not None and name not in module._non_persistent_buffers_set:
                found[dot + name] = buf
    return found


def load_compatible(model: nn.Module, state_dict) -> LoadReport:
    own = _own_tensors(model)
    loaded, mismatched, unexpected = [], [], []
    for key, value in state_dict.items():
        target = own.get(key)
        if target is None:
            unexpected.append(key)
        elif tuple(target.shape) != tuple(value.shape):
            mismatched.append(key)
        else:
            with torch.no_grad():
                target.copy_(value.to(device=target.device, dtype=target.dtype))
            loaded.append(key)
    missing = [key for key in own if key not in state_dict]
    return LoadReport(loaded, mismatched, missing, unexpected)
