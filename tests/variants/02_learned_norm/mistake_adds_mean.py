"""Mistake: sign error, x + learned_mean instead of x - learned_mean."""

from kata_runner.testing import solution

EXPECT = "adds learned_mean"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def forward(self, x):
        return (x + self.learned_mean) / (self.learned_std + self.eps)
