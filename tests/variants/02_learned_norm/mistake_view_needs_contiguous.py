"""Mistake: x.view(-1, num_features) fails on transposed and expanded inputs (reshape would not)."""

from kata_runner.testing import solution

EXPECT = "memory layout"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def forward(self, x):
        flat = x.view(-1, self.num_features)
        return ((flat - self.learned_mean) / (self.learned_std + self.eps)).view(x.shape)
