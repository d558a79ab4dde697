"""Mistake: flattens x to (-1, num_features) and returns that, losing 1-D and extra leading shapes."""

from kata_runner.testing import solution

EXPECT = "any leading shape"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def forward(self, x):
        flat = x.reshape(-1, self.num_features)
        return (flat - self.learned_mean) / (self.learned_std + self.eps)
