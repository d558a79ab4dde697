"""Mistake: the features dict and the handle list are class attributes, shared by every extractor."""

from kata_runner.testing import solution

EXPECT = "shared between instances"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    _features = {}
    _handles = []

    def __init__(self, model, layer_names):
        self.model = model
        self.layer_names = list(layer_names)
        modules = dict(model.named_modules())
        unknown = [name for name in self.layer_names if name not in modules]
        if unknown:
            raise ValueError(f"unknown layer name(s) {unknown}")
        for name in self.layer_names:
            self._handles.append(modules[name].register_forward_hook(self._make_hook(name)))

    def remove_hooks(self):
        for handle in self._handles:
            handle.remove()
