"""Correct: hooks registered with with_kwargs=True (hook(module, args, kwargs, output)), copies made under
torch.no_grad() with torch.clone (no history), names checked against named_modules(remove_duplicate=False)
in one pass before registering, handles in a dict by name."""

import torch


def _copy(value):
    if torch.is_tensor(value):
        with torch.no_grad():
            return torch.clone(value)
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        items = [_copy(v) for v in value]
        if hasattr(type(value), "_fields"):
            return type(value)(*items)
        return type(value)(items)
    return value


class FeatureExtractor:
    def __init__(self, model, layer_names):
        names = {name for name, _ in model.named_modules(remove_duplicate=False)}
        bad = [n for n in layer_names if n not in names]
        if bad:
            raise ValueError(f"unknown layer name(s): {bad}")
        self.outputs = {}
        self.handles = {}
        for name in layer_names:
            module = model.get_submodule(name)
            self.handles[name] = module.register_forward_hook(self._hook_for(name), with_kwargs=True)

    def _hook_for(self, name):
        def hook(module, args, kwargs, output):
            self.outputs[name] = _copy(output)

        return hook

    def get_features(self):
        return {**self.outputs}

    def remove_hooks(self):
        for handle in self.handles.values():
            handle.remove()

    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.remove_hooks()
