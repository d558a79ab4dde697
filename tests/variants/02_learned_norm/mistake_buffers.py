"""Mistake: learned_mean and learned_std registered as buffers, so no optimizer ever updates them."""

import torch

from kata_runner.testing import solution

EXPECT = "nn.Parameter"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def __init__(self, num_features, eps=1e-5):
        super().__init__(num_features, eps)
        del self.learned_mean
        del self.learned_std
        self.register_buffer("learned_mean", torch.zeros(num_features))
        self.register_buffer("learned_std", torch.ones(num_features))
