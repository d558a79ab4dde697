"""Mistake: eps added after the division, (x - mean) / std + eps, instead of inside the denominator."""

from kata_runner.testing import solution

EXPECT = "outside the division"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def forward(self, x):
        return (x - self.learned_mean) / self.learned_std + self.eps
