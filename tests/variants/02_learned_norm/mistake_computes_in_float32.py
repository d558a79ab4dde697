"""Mistake: forward casts x and the parameters to float32, whatever dtype the layer and input have."""

from kata_runner.testing import solution

EXPECT = "dtype"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def forward(self, x):
        return (x.float() - self.learned_mean.float()) / (self.learned_std.float() + self.eps)
