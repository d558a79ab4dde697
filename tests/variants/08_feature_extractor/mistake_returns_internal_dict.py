"""Mistake: get_features returns the extractor's own dict, which changes under a caller who kept it."""

from kata_runner.testing import solution

EXPECT = "new dict"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def get_features(self):
        return self._features
