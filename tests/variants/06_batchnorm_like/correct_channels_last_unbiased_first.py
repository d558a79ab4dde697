"""Correct: features moved last and flattened to (M, C) with movedim/reshape, statistics through the
unbiased variance (torch.var with correction=1) turned biased for the normalisation, running statistics
updated from detached values with torch.where-free arithmetic, and a cumulative average for momentum=None
kept as a running sum divided by the count."""

import torch
from torch import nn


class BatchNormLike(nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.register_parameter("weight", nn.Parameter(torch.ones(num_features)))
        self.register_parameter("bias", nn.Parameter(torch.zeros(num_features)))
        for name, value in (("running_mean", torch.zeros(num_features)), ("running_var", torch.ones(num_features)),
                            ("num_batches_tracked", torch.tensor(0))):
            self.register_buffer(name, value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x.shape) < 2 or len(x.shape) > 3:
            raise ValueError(f"expected 2D or 3D input (got {len(x.shape)}D input)")
        if x.shape[1] != self.num_features:
            raise ValueError(f"expected {self.num_features} features, got {x.shape[1]}")
        rows = x.movedim(1, -1).reshape(-1, self.num_features)  # (M, C)
        if self.training:
            m = rows.shape[0]
            if m < 2:
                raise ValueError("Expected more than 1 value per channel when training")
            mean = rows.mean(0)
            unbiased = rows.var(0, correction=1)
            var = unbiased * ((m - 1) / m)
            k = int(self.num_batches_tracked) + 1
            f = self.momentum if self.momentum is not None else 1.0 / k
            new_mean = self.running_mean * (1 - f) + mean.detach() * f
            new_var = self.running_var * (1 - f) + unbiased.detach() * f
            self.running_mean.copy_(new_mean)
            self.running_var.copy_(new_var)
            self.num_batches_tracked.fill_(k)
        else:
            mean, var = self.running_mean, self.running_var
        out = (rows - mean) / torch.sqrt(var + self.eps) * self.weight + self.bias
        return out.reshape(*x.shape[:1], *x.shape[2:], self.num_features).movedim(-1, 1)
