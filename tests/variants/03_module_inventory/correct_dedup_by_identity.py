"""Correct: walks named_modules(remove_duplicate=False) and does all the de-duplication itself, by
object identity, keeping the first name of each module and tensor; registries read directly."""

import torch
from torch import nn


def inventory(module):
    skip = frozenset(nn.Module().__dict__)
    seen_modules, seen_tensors = set(), set()
    out = {k: [] for k in ("parameters", "buffers", "non_persistent_buffers", "submodules", "unregistered")}
    for path, sub in module.named_modules(remove_duplicate=False):
        if id(sub) in seen_modules:
            continue
        seen_modules.add(id(sub))
        name_of = (lambda n, p=path: f"{p}.{n}") if path else (lambda n: n)
        if path:
            out["submodules"].append(path)
        for n, p in sub._parameters.items():
            if p is not None and id(p) not in seen_tensors:
                seen_tensors.add(id(p))
                out["parameters"].append(name_of(n))
        for n, b in sub._buffers.items():
            if b is not None and id(b) not in seen_tensors:
                seen_tensors.add(id(b))
                key = "non_persistent_buffers" if n in sub._non_persistent_buffers_set else "buffers"
                out[key].append(name_of(n))
        for n, v in sub.__dict__.items():
            if n in skip:
                continue
            if isinstance(v, dict):
                v_items = list(v.values())
            elif isinstance(v, (list, tuple)):
                v_items = list(v)
            else:
                v_items = []
            if isinstance(v, torch.Tensor) or any(isinstance(i, nn.Module) for i in v_items):
                out["unregistered"].append(name_of(n))
    return {k: sorted(v) for k, v in out.items()}
