"""Mistake: remove_hooks pops the most recent forward hook of each layer (module._forward_hooks.popitem()),
which is another extractor's when that one was registered later."""

from kata_runner.testing import solution

EXPECT = "whichever was created first"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def __init__(self, model, layer_names):
        super().__init__(model, layer_names)
        modules = dict(model.named_modules(remove_duplicate=False))
        self._modules = [modules[n] for n in self.layer_names]

    def remove_hooks(self):
        for module in self._modules:
            if module._forward_hooks:
                module._forward_hooks.popitem()
        self._modules = []
        self._handles = []
