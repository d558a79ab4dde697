"""Mistake: output.detach() is called on every output, which crashes on layers that return a tuple or list."""

from kata_runner.testing import solution

EXPECT = "detach its elements one by one"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def _make_hook(self, name):
        def hook(module, inputs, output):
            self._features[name] = output.detach()

        return hook
