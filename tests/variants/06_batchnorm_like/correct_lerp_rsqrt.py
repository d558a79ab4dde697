"""Correct: features first, flattened to (C, M) with reshape; manual sums; detached statistics; buffers
reassigned (not updated in place) with lerp; rsqrt; momentum=None as the incremental mean
running += (stat - running) / k."""

import torch
from torch import nn


class BatchNormLike(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = nn.Parameter(torch.full((num_features,), 1.0))
        self.bias = nn.Parameter(torch.full((num_features,), 0.0))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        if x.ndim not in (2, 3) or x.size(1) != self.num_features:
            raise ValueError(f"expected (N, {self.num_features}) or (N, {self.num_features}, L), got {tuple(x.shape)}")
        columns = x.transpose(0, 1).reshape(self.num_features, -1)  # (C, M): every value of each feature
        if self.training:
            m = columns.size(1)
            if m <= 1:
                raise ValueError("need more than one value per feature in training")
            mean = columns.sum(1) / m
            squares = ((columns - mean[:, None]) ** 2).sum(1)
            biased = squares / m
            # Reassigning a registered buffer name keeps it registered; detached, so no history.
            self.num_batches_tracked = self.num_batches_tracked + 1
            weight = 1.0 / int(self.num_batches_tracked) if self.momentum is None else self.momentum
            self.running_mean = torch.lerp(self.running_mean, mean.detach(), weight)
            self.running_var = torch.lerp(self.running_var, (squares / (m - 1)).detach(), weight)
        else:
            mean, biased = self.running_mean, self.running_var
        out = (columns - mean[:, None]) * torch.rsqrt(biased + self.eps)[:, None]
        out = out * self.weight[:, None] + self.bias[:, None]
        return out.reshape(x.size(1), x.size(0), *x.shape[2:]).transpose(0, 1)
