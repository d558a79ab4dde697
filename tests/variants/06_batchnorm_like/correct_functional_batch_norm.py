"""Correct: F.batch_norm does the arithmetic and updates the running buffers in place, outside autograd.
It takes f = exponential_average_factor, so momentum=None becomes 1 / num_batches_tracked here; and since
F.batch_norm refuses bad input only after the counter would have moved, the input is validated first."""

import torch
import torch.nn.functional as F
from torch import nn


class BatchNormLike(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x):
        if x.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.dim()}D input)")
        if x.shape[1] != self.num_features:
            raise RuntimeError(f"running_mean should contain {x.shape[1]} elements not {self.num_features}")
        factor = 0.0
        if self.training:
            if x.numel() == self.num_features:
                raise ValueError("Expected more than 1 value per channel when training")
            self.num_batches_tracked.add_(1)
            factor = 1.0 / self.num_batches_tracked.item() if self.momentum is None else self.momentum
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, self.training, factor, self.eps
        )
