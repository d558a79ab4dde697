"""Mistake: eps registered as a buffer, so state_dict() carries an extra "eps" key checkpoints do not have."""

import torch

from kata_runner.testing import solution

EXPECT = "state_dict"
_ref = solution("02")


class LearnedNorm(_ref.LearnedNorm):
    def __init__(self, num_features, eps=1e-5):
        super().__init__(num_features, eps)
        del self.eps
        self.register_buffer("eps", torch.tensor(float(eps)))
