"""Mistake: __enter__ has no return statement, so `with FeatureExtractor(...) as fx` binds fx to None."""

from kata_runner.testing import solution

EXPECT = "__enter__ must return self"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def __enter__(self):
        pass
