"""Mistake: each name is checked only when its turn comes, so the hooks before a bad name stay registered."""

from kata_runner.testing import solution

EXPECT = "validate every name"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def __init__(self, model, layer_names):
        self.model = model
        self.layer_names = list(layer_names)
        self._features = {}
        self._handles = []
        modules = dict(model.named_modules())
        for name in self.layer_names:
            if name not in modules:
                raise ValueError(f"unknown layer name {name!r}")
            self._handles.append(modules[name].register_forward_hook(self._make_hook(name)))
