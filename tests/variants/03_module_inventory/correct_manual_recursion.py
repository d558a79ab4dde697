"""Correct: a hand-written depth-first walk over _modules with memo sets (no named_modules), and
the internal registries excluded by identity rather than by name."""

import torch
from torch import nn


def inventory(module):
    out = {"parameters": [], "buffers": [], "non_persistent_buffers": [], "submodules": [], "unregistered": []}
    seen_modules, seen_tensors = set(), set()

    def visit(mod, path):
        if mod in seen_modules:
            return
        seen_modules.add(mod)
        join = (lambda name: path + "." + name) if path else (lambda name: name)
        if path:
            out["submodules"].append(path)
        for name, p in mod._parameters.items():
            if p is not None and p not in seen_tensors:
                seen_tensors.add(p)
                out["parameters"].append(join(name))
        for name, b in mod._buffers.items():
            if b is not None and b not in seen_tensors:
                seen_tensors.add(b)
                persistent = name not in mod._non_persistent_buffers_set
                out["buffers" if persistent else "non_persistent_buffers"].append(join(name))
        # nn.Module's own registries and hook tables, recognised by identity.
        internal = {id(mod.__dict__[k]) for k in vars(nn.Module()) if k in mod.__dict__}
        for name, value in mod.__dict__.items():
            if id(value) in internal:
                continue
            if torch.is_tensor(value):
                out["unregistered"].append(join(name))
            elif isinstance(value, dict):
                if any(isinstance(v, nn.Module) for v in value.values()):
                    out["unregistered"].append(join(name))
            elif isinstance(value, (list, tuple)) and any(isinstance(v, nn.Module) for v in value):
                out["unregistered"].append(join(name))
        for name, child in mod._modules.items():
            if child is not None:
                visit(child, join(name))

    visit(module, "")
    return {key: sorted(names) for key, names in out.items()}
