"""Kata 06, reference solution: a BatchNorm of your own, with buffers.

See katas/06_batchnorm_like.py for the task and the whole contract. The comments below explain each step.
"""

from __future__ import annotations

import torch
from torch import nn


class BatchNormLike(nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        # TODO 1. Learned: the optimizer updates these, so they are Parameters. Same names and shapes as
        # nn.BatchNorm1d, so state_dicts are interchangeable.
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        # TODO 2. Measured, not learned: buffers. register_buffer puts them in self._buffers, so they are
        # saved in state_dict(), follow .to(device) / .double(), and are never handed to an optimizer.
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        # An integer counter, like BatchNorm1d's: .half() / .double() only cast floating-point
        # tensors, so a long stays a long (a float16 counter would stop counting at 2048).
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) or (N, C, L) -> same shape: normalise each feature, then scale by weight and shift by bias."""
        # TODO 3. Validate first, act after: nothing may change when the input is refused.
        if x.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.dim()}D input)")
        if x.shape[1] != self.num_features:
            raise ValueError(f"expected {self.num_features} features in dimension 1, got shape {tuple(x.shape)}")
        # Each feature is normalised over every other dimension: N values, or N * L for (N, C, L).
        # The (C,) statistics and parameters broadcast along dimension 1 once shaped (C,) or (C, 1).
        dims = (0, *range(2, x.dim()))
        shape = (-1,) + (1,) * (x.dim() - 2)
        if self.training:
            # TODO 4. Training: batch statistics.
            count = x[:, 0].numel()
            if count < 2:
                # The variance of one value is undefined (the unbiased one divides by M - 1 = 0).
                raise ValueError(
                    f"Expected more than 1 value per channel when training, got input size {tuple(x.shape)}"
                )
            # Normalise with the batch statistics, using the biased variance (divide by M). These
            # stay in the graph: gradients flow through the mean and the variance.
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            # TODO 5. The running estimates are bookkeeping, not part of the computation being
            # differentiated: update them in place under no_grad, so they never hold a graph
            # (otherwise every past batch's graph would stay alive in memory).
            # momentum weighs the NEW statistic: running = (1 - f) * running + f * batch, with
            # f = 1 / (batches so far) for momentum=None (a cumulative average); the running
            # variance uses the unbiased estimate (divide by M - 1).
            with torch.no_grad():
                self.num_batches_tracked += 1
                factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
                self.running_mean.mul_(1 - factor).add_(mean, alpha=factor)
                self.running_var.mul_(1 - factor).add_(var * (count / (count - 1)), alpha=factor)
        else:
            # TODO 6. Eval: the running estimates, so one sample's output does not depend on its batch.
            mean, var = self.running_mean, self.running_var
        # eps goes inside the square root: it bounds the divisor away from zero on low-variance input.
        x_hat = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        return x_hat * self.weight.reshape(shape) + self.bias.reshape(shape)
