"""Mistake: draws the initial weights from a private generator seeded once, ignoring torch.manual_seed."""

import math

import torch

from kata_runner.testing import solution

EXPECT = "torch.manual_seed"
# Its state carries from one spec to the next within a subject (see testing.judged_differently).
HIDDEN_STATE = "a private generator, seeded once, drawn from by every spec"
_generator = torch.Generator().manual_seed(1234)


class CustomLinear(solution("01").CustomLinear):
    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in_features)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.rand(p.shape, generator=_generator) * 2 * bound - bound)
