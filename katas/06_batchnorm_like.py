"""Kata 06: buffers, a BatchNorm of your own.

A module holds two kinds of state. Parameters are learned: the optimizer updates them. Buffers
are measured or counted: they are saved with the model and move with it, but no optimizer ever
touches them. BatchNorm has both, which makes it the place to see the difference. Build
BatchNormLike(num_features, eps=1e-5, momentum=0.1) so that it can stand in for
nn.BatchNorm1d(num_features, eps, momentum) on inputs of shape (N, C):

- Parameters `weight` (ones) and `bias` (zeros), of shape (C,), and no other Parameters.
- Buffers `running_mean` (zeros), `running_var` (ones) and `num_batches_tracked`, an int64
  scalar 0: `self.register_buffer(name, tensor)`. Same names as BatchNorm1d, so state_dicts load
  both ways.
- Training (self.training is True): normalise with the batch mean and the BIASED batch variance
  (divide by N), y = (x - mean) / sqrt(var + eps) * weight + bias. Then update
      running_mean = (1 - momentum) * running_mean + momentum * mean
      running_var  = (1 - momentum) * running_var  + momentum * unbiased_var   (divide by N - 1)
  and add 1 to num_batches_tracked. A batch of N = 1 raises ValueError, as BatchNorm1d does.
- Eval: normalise with running_mean and running_var instead, and change no buffer.

Why buffers? A plain tensor attribute is not in state_dict() and does not follow .to(device);
an nn.Parameter would be handed to the optimizer, which would "train" a statistic. Only
register_buffer gives saved-and-moved-but-not-learned. .half()/.double() cast only floating-point
tensors, so an int64 counter stays int64.

What the seed notebook gets wrong: it normalises with the unbiased variance, and it computes
the running statistics from tensors that are still in the autograd graph, so each running
buffer keeps a grad_fn that links back to every past batch: all of them stay alive in memory.
The update is bookkeeping, not something to differentiate: do it under torch.no_grad()
(or from detached statistics), while the normalisation itself stays differentiable.

Run `kata check 06` to grade this file, `kata hint 06` when stuck.
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
        # TODO: create self.weight (ones) and self.bias (zeros) as nn.Parameters of shape (num_features,).
        # TODO: register the buffers running_mean (zeros), running_var (ones) and num_batches_tracked
        #       (torch.tensor(0, dtype=torch.long)) with self.register_buffer.
        raise NotImplementedError(
            "BatchNormLike.__init__: create weight/bias Parameters and register the buffers"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C) -> (N, C): normalise each feature, then scale by weight and shift by bias."""
        # TODO: in training, raise ValueError when N < 2; normalise with the batch mean and biased variance;
        #       update the running statistics (unbiased variance for running_var) without autograd history,
        #       and add 1 to num_batches_tracked.
        # TODO: in eval, normalise with running_mean and running_var and leave the buffers alone.
        raise NotImplementedError(
            "BatchNormLike.forward: normalise with batch stats (training) or running stats (eval)"
        )
