"""Correct: manual sums, detached statistics, buffers reassigned (not updated in place) with lerp, rsqrt."""

import torch
from torch import nn


class BatchNormLike(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.full((num_features,), 1.0))
        self.bias = nn.Parameter(torch.full((num_features,), 0.0))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        if not self.training:
            return (x - self.running_mean) * torch.rsqrt(self.running_var + self.eps) * self.weight + self.bias
        n = x.size(0)
        if n <= 1:
            raise ValueError("need more than one sample per feature in training")
        mean = x.sum(0) / n
        squares = ((x - mean) ** 2).sum(0)
        biased = squares / n
        # Reassigning a registered buffer name keeps it registered; detached, so no history.
        self.running_mean = torch.lerp(self.running_mean, mean.detach(), self.momentum)
        self.running_var = torch.lerp(self.running_var, (squares / (n - 1)).detach(), self.momentum)
        self.num_batches_tracked = self.num_batches_tracked + 1
        return (x - mean) * torch.rsqrt(biased + self.eps) * self.weight + self.bias
