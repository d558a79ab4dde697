"""Mistake: __exit__ removes the hooks and returns True, which swallows the exception raised in the block."""

from kata_runner.testing import solution

EXPECT = "was swallowed"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def __exit__(self, exc_type, exc, tb):
        self.remove_hooks()
        return True
