"""Mistake: the hook records the layer's input (inputs[0]) instead of its output."""

from kata_runner.testing import solution

EXPECT = "not its input"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def _make_hook(self, name):
        def hook(module, inputs, output):
            self._features[name] = _ref._snapshot(inputs[0])

        return hook
