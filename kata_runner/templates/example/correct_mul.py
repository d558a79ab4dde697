"""Correct: the product written with torch.mul (the checks must accept it)."""

import torch

from kata_runner.testing import solution

_ref = solution("01")


class Scale(_ref.Scale):
    def forward(self, x):
        return torch.mul(x, self.weight)
