"""Mistake: names are resolved with model.get_submodule and no check, so a bad one raises AttributeError."""

from kata_runner.testing import solution

EXPECT = "must raise ValueError naming it"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def __init__(self, model, layer_names):
        self.model = model
        self.layer_names = list(layer_names)
        self._features = {}
        modules = [model.get_submodule(name) for name in self.layer_names]
        self._handles = [m.register_forward_hook(self._make_hook(n)) for m, n in zip(modules, self.layer_names)]
