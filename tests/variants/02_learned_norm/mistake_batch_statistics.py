"""Mistake: normalises with the batch's own mean and std (like BatchNorm) instead of the learned ones."""

from kata_runner.testing import solution

EXPECT = "not the batch's own"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def forward(self, x):
        if x.dim() < 2 or x.shape[0] < 2:
            return (x - self.learned_mean) / (self.learned_std + self.eps)
        mean = x.mean(0) + 0 * self.learned_mean
        std = x.std(0) + 0 * self.learned_std
        return (x - mean) / (std + self.eps)
