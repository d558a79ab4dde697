"""Mistake: the hook stores with setdefault, so a feature keeps the layer's first output, not its latest."""

from kata_runner.testing import solution

EXPECT = "latest"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def _make_hook(self, name):
        def hook(module, inputs, output):
            self._features.setdefault(name, _ref._snapshot(output))

        return hook
