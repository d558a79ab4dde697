"""Correct: register while walking with get_submodule, roll every hook back on a bad name; one bound-method
hook looks the layer's name up by module; get_features returns the internal dict itself."""

import torch


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
                self.names_by_module.setdefault(id(module), []).append(name)
                self.handles.append(module.register_forward_hook(self._hook))
        except BaseException:
            self.remove_hooks()
            raise

    def _hook(self, module, inputs, output):
        if isinstance(output, (tuple, list)):
            output = type(output)(o.detach() if isinstance(o, torch.Tensor) else o for o in output)
        else:
            output = output.detach()
        for name in self.names_by_module.get(id(module), []):
            self.features[name] = output

    def get_features(self):
        return self.features

    def remove_hooks(self):
        while self.handles:
            self.handles.pop().remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.remove_hooks()
        return False
