"""Kata 06, reference solution: a BatchNorm of your own, with buffers.

See katas/06_batchnorm_like.py for the task. The comments below explain each step.
"""

from __future__ import annotations

import torch
from torch import nn


class BatchNormLike(nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        # Learned: the optimizer updates these, so they are Parameters. Same names and shapes as
        # nn.BatchNorm1d, so state_dicts are interchangeable.
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        # Measured, not learned: buffers. register_buffer puts them in self._buffers, so they are
        # saved in state_dict(), follow .to(device) / .double(), and are never handed to an optimizer.
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        # An integer counter, like BatchNorm1d's: .half() / .double() only cast floating-point
        # tensors, so a long stays a long (a float16 counter would stop counting at 2048).
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) -> (N, C): normalise each feature, then scale by weight and shift by bias."""
        if x.dim() != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"expected input of shape (N, {self.num_features}), got {tuple(x.shape)}")
        if self.training:
            n = x.shape[0]
            if n < 2:
                # The variance of one value is undefined (the unbiased one divides by n - 1 = 0).
                raise ValueError(
                    f"Expected more than 1 value per channel when training, got input size {tuple(x.shape)}"
                )
            # Normalise with the batch statistics, using the biased variance (divide by n). These
            # stay in the graph: gradients flow through the mean and the variance.
            mean = x.mean(dim=0)
            var = x.var(dim=0, unbiased=False)
            # The running estimates are bookkeeping, not part of the computation being
            # differentiated: update them in place under no_grad, so they never hold a graph
            # (otherwise every past batch's graph would stay alive in memory).
            # momentum weighs the NEW statistic: running = (1 - momentum) * running + momentum * batch,
            # and the running variance uses the unbiased estimate (divide by n - 1).
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(mean, alpha=self.momentum)
                self.running_var.mul_(1 - self.momentum).add_(var * (n / (n - 1)), alpha=self.momentum)
                self.num_batches_tracked += 1
        else:
            # Eval: the running estimates, so one sample's output does not depend on its batch.
            mean, var = self.running_mean, self.running_var
        # eps goes inside the square root: it bounds the divisor away from zero on low-variance input.
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        return x_hat * self.weight + self.bias
