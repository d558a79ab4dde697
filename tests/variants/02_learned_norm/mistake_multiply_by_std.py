"""Mistake: multiplies by (std + eps) instead of dividing; invisible while learned_std is 1."""

from kata_runner.testing import solution

EXPECT = "multiplies by learned_std"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def forward(self, x):
        return (x - self.learned_mean) * (self.learned_std + self.eps)
