"""Mistake: remove_hooks also throws the recorded features away."""

from kata_runner.testing import solution

EXPECT = "threw away the features"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def remove_hooks(self):
        super().remove_hooks()
        self._features.clear()
