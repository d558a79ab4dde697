"""Mistake: forward switches grad mode on for good ("so that the parameters learn"), even under no_grad."""

import torch

from kata_runner.testing import solution

EXPECT = "grad mode"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def forward(self, x):
        torch.set_grad_enabled(True)
        return (x - self.learned_mean) / (self.learned_std + self.eps)
