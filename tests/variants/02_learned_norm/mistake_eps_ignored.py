"""Mistake: the eps argument is ignored; a hard-coded 1e-5 is used instead."""

from kata_runner.testing import solution

EXPECT = "eps argument"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def __init__(self, num_features, eps=1e-5):
        super().__init__(num_features)
