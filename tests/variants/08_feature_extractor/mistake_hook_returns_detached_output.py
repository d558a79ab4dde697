"""Mistake: the hook returns the detached output, which replaces the layer's output and cuts the graph."""

from kata_runner.testing import solution

EXPECT = "replaces the layer's output"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def _make_hook(self, name):
        def hook(module, inputs, output):
            self._features[name] = _ref._snapshot(output)
            return self._features[name]

        return hook
