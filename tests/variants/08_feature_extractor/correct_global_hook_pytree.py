"""Correct: one global forward hook (nn.modules.module.register_module_forward_hook) that filters on the
chosen modules (a module -> [names] map, so a shared module records under every name), pytree tree_map
to detach and clone, handles kept in a dict."""

import torch
from torch.nn.modules.module import register_module_forward_hook
from torch.utils._pytree import tree_map


class FeatureExtractor:
    def __init__(self, model, layer_names):
        modules = dict(model.named_modules(remove_duplicate=False))
        missing = [n for n in layer_names if n not in modules]
        if missing:
            raise ValueError("unknown layers: " + ", ".join(missing))
        self._targets = {}
        for n in layer_names:
            self._targets.setdefault(modules[n], []).append(n)
        self._store = {}
        self._handles = {"global": register_module_forward_hook(self._record)}

    def _record(self, module, args, output):
        for name in self._targets.get(module, ()):
            self._store[name] = tree_map(lambda t: t.detach().clone() if torch.is_tensor(t) else t, output)

    def get_features(self):
        return {name: value for name, value in self._store.items()}

    def remove_hooks(self):
        for key in list(self._handles):
            self._handles.pop(key).remove()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.remove_hooks()
