"""Correct: contextlib.ExitStack holds the handles (stack.callback(handle.remove)), functools.partial
hooks, names looked up in a dict built from named_modules(remove_duplicate=False), tree_map_only."""

import contextlib
import functools

import torch
from torch.utils._pytree import tree_map_only


class FeatureExtractor:
    def __init__(self, model, layer_names):
        layer_names = list(layer_names)
        table = {}
        for name, module in model.named_modules(remove_duplicate=False):
            table[name] = module
        for name in layer_names:
            if name not in table:
                raise ValueError(f"{name!r} is not a layer of this model")
        self._stack = contextlib.ExitStack()
        self._latest = {}
        for name in layer_names:
            handle = table[name].register_forward_hook(functools.partial(self._save, name))
            self._stack.callback(handle.remove)

    def _save(self, name, module, inputs, output):
        self._latest[name] = tree_map_only(torch.Tensor, lambda t: t.detach().clone(), output)

    def get_features(self):
        return dict(self._latest)

    def remove_hooks(self):
        self._stack.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self._stack.close()
