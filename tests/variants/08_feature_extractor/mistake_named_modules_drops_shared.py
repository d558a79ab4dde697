"""Mistake: names looked up in dict(model.named_modules()), which lists a shared module once: its second
name is rejected as unknown."""

from kata_runner.testing import solution

EXPECT = "remove_duplicate=False"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def __init__(self, model, layer_names):
        self.model = model
        self.layer_names = list(layer_names)
        modules = dict(model.named_modules())
        unknown = [name for name in self.layer_names if name not in modules]
        if unknown:
            raise ValueError(f"unknown layer name(s) {unknown}")
        self._features = {}
        self._handles = [modules[n].register_forward_hook(self._make_hook(n)) for n in self.layer_names]
