"""Mistake: the features dict starts as {name: None for every name}, so layers that have not run have entries."""

from kata_runner.testing import solution

EXPECT = "has not run yet"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def __init__(self, model, layer_names):
        super().__init__(model, layer_names)
        self._features.update({name: None for name in self.layer_names})
