"""Correct: register while walking with get_submodule, roll every hook back on a bad name; one bound-method
hook looks the layer's names up by module id; recursive copy by hand; get_features copies the dict."""

import torch


def _copy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, tuple) and hasattr(value, "_make"):
        return value._make(_copy(v) for v in value)
    if isinstance(value, (tuple, list)):
        return type(value)([_copy(v) for v in value])
    return value


class FeatureExtractor:
    def __init__(self, model, layer_names):
        self.features = {}
        self.handles = []
        self.names_by_module = {}
        try:
            for name in layer_names:
                try:
                    module = model.get_submodule(name)
                except AttributeError as exc:
                    raise ValueError(f"no layer named {name!r} in this model") from exc
                names = self.names_by_module.setdefault(id(module), [])
                if not names:
                    self.handles.append(module.register_forward_hook(self._hook))
                names.append(name)
        except BaseException:
            self.remove_hooks()
            raise

    def _hook(self, module, inputs, output):
        for name in self.names_by_module.get(id(module), []):
            self.features[name] = _copy(output)

    def get_features(self):
        return self.features.copy()

    def remove_hooks(self):
        while self.handles:
            self.handles.pop().remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove_hooks()
        return False
