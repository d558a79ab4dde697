"""Mistake: the output is stored as it is, with its autograd history."""

from kata_runner.testing import solution

EXPECT = "autograd history"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def _make_hook(self, name):
        def hook(module, inputs, output):
            self._features[name] = output

        return hook
