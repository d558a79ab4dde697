"""Mistake: learned_mean is detached in forward, so no gradient reaches it and it never learns."""

from kata_runner.testing import solution

EXPECT = "detached"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def forward(self, x):
        return (x - self.learned_mean.detach()) / (self.learned_std + self.eps)
