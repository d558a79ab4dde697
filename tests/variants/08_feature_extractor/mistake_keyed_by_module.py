"""Mistake: one hook looks the layer's name up in a module -> name dict: a module reached by two
requested names records under only one of them."""

from kata_runner.testing import solution

EXPECT = "own entry"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def __init__(self, model, layer_names):
        self.model = model
        self.layer_names = list(layer_names)
        modules = dict(model.named_modules(remove_duplicate=False))
        unknown = [name for name in self.layer_names if name not in modules]
        if unknown:
            raise ValueError(f"unknown layer name(s) {unknown}")
        self._features = {}
        self._name_of = {modules[n]: n for n in self.layer_names}
        self._handles = [m.register_forward_hook(self._hook) for m in self._name_of]

    def _hook(self, module, inputs, output):
        self._features[self._name_of[module]] = _ref._snapshot(output)
