"""Mistake: remove_hooks forgets the handles (and the features) without calling handle.remove()."""

from kata_runner.testing import solution

EXPECT = "did not remove the hooks"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def remove_hooks(self):
        self._handles = []
        self._features = {}
