"""Mistake: num_batches_tracked is a float buffer, so .half() casts it and it is not BatchNorm1d's int64."""

import torch

from kata_runner.testing import solution

EXPECT = "integer counter"
_ref = solution("06")


class BatchNormLike(_ref.BatchNormLike):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__(num_features, eps, momentum)
        self.register_buffer("num_batches_tracked", torch.tensor(0.0))
