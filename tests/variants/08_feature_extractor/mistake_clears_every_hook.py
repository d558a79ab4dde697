"""Mistake: remove_hooks empties each module's _forward_hooks, removing hooks other code registered too."""

from kata_runner.testing import solution

EXPECT = "did not register"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def __init__(self, model, layer_names):
        super().__init__(model, layer_names)
        self.model = model

    def remove_hooks(self):
        modules = dict(self.model.named_modules())
        for name in self.layer_names:
            modules[name]._forward_hooks.clear()
        self._handles.clear()
