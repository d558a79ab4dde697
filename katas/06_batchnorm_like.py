"""Kata 06: buffers, a BatchNorm of your own.

A module holds two kinds of state. Parameters are learned: the optimizer updates them. Buffers
are measured or counted: they are saved with the model and move with it, but no optimizer ever
touches them. BatchNorm has both, which makes it the place to see the difference. Build
BatchNormLike(num_features, eps=1e-5, momentum=0.1) so that it can stand in for
nn.BatchNorm1d(num_features, eps, momentum) (affine and tracking the running statistics).

The whole contract (`kata check 06` holds you to exactly this):

Construction
- BatchNormLike(num_features, eps=1e-5, momentum=0.1), arguments positional or keyword.
  num_features is an int >= 1 (any size: 1, 5, 300, 1000...). eps is a float (or int) > 0; the
  default is exactly BatchNorm1d's 1e-5. momentum is a float (or int) in [0, 1], default exactly
  0.1, or None (see "Running statistics").
- Parameters `weight` (ones) and `bias` (zeros), float32, of shape (C,) where C = num_features,
  and no other Parameters: they are what an optimizer given .parameters() updates.
- Buffers `running_mean` (zeros, float32), `running_var` (ones, float32) and
  `num_batches_tracked`, an int64 scalar 0: `self.register_buffer(name, tensor)`. Same names as
  BatchNorm1d, so state_dict() has exactly BatchNorm1d's five keys and loads into nn.BatchNorm1d
  and back (num_batches_tracked included). No submodules.

forward(x)
- x has shape (N, C) or (N, C, L) (L >= 1), is on the layer's device and has the layer's floating
  dtype (float32 by default; float64, float16 or bfloat16 after .double(), .half(), .to(dtype)).
  Any memory layout: contiguous, transposed, sliced (non-contiguous), expanded (stride 0).
  Returns a new tensor of x's shape, dtype and device. Never modifies x; leaves grad mode as it
  found it.
- Each feature c is normalised over every value it has in the batch: the N values of x[:, c]
  for (N, C), the N * L values of x[:, c, :] for (N, C, L).
- Training (self.training is True): with mean and the BIASED variance (divide by the count M =
  N or N * L) of those values, y = (x - mean) / sqrt(var + eps) * weight + bias (eps INSIDE the
  square root), exactly nn.BatchNorm1d's output. A batch of two values per feature (N = 2, or
  N = 1 with L = 2) trains.
- Eval (self.training is False): the same formula with running_mean and running_var in place of
  the batch statistics; any N >= 1 works, a single sample included; no buffer changes.

Running statistics (training forwards only, after the output's statistics are taken)
- num_batches_tracked += 1 (it stays int64).
- With f = momentum, or f = 1 / num_batches_tracked (after the increment) when momentum is None
  (a cumulative average of all batches so far):
      running_mean = (1 - f) * running_mean + f * mean
      running_var  = (1 - f) * running_var  + f * unbiased_var     (divide by M - 1)
  momentum weighs the NEW batch: momentum=1 keeps only the last batch, momentum=0 never moves.
- Bookkeeping, not computation: the buffers never carry autograd history, even when x or the
  parameters require grad (update them under torch.no_grad() or from detached statistics). A
  later loss must never send gradients into past batches. Under torch.no_grad() training still
  updates the buffers.
- .to(device), .double(), .half(), .to(dtype) move the buffers and cast running_mean/running_var;
  num_batches_tracked stays int64 (they cast floating-point tensors only).

Autograd
- Gradients reach x, weight and bias and equal nn.BatchNorm1d's: in training they flow through
  the batch mean and variance; in eval the running statistics are constants.

Errors (validate first, then act: when forward raises, the buffers and the counter are left
exactly as they were, in training and in eval)
- x not 2-D or 3-D: ValueError (as BatchNorm1d).
- x.shape[1] != num_features: ValueError or RuntimeError (BatchNorm1d raises RuntimeError).
- Training with a single value per feature (N * L == 1, e.g. shape (1, C) or (1, C, 1)):
  ValueError, as BatchNorm1d does. (BatchNorm1d counts that batch in num_batches_tracked before
  refusing it; here nothing changes.)

Why buffers? A plain tensor attribute is not in state_dict() and does not follow .to(device);
an nn.Parameter would be handed to the optimizer, which would "train" a statistic. Only
register_buffer gives saved-and-moved-but-not-learned. .half()/.double() cast only floating-point
tensors, so an int64 counter stays int64 (a float16 counter would stop counting at 2048).
num_batches_tracked is what momentum=None needs: the weight 1/k of the k-th batch.

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
    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1) -> None:
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
        """(N, C) or (N, C, L) -> same shape: normalise each feature, then scale by weight and shift by bias."""
        # TODO: validate first: x must be 2-D or 3-D with x.shape[1] == num_features (ValueError otherwise).
        # TODO: in training, raise ValueError when there is a single value per feature; normalise with the
        #       batch mean and biased variance over every dimension but 1; then add 1 to num_batches_tracked
        #       and update the running statistics (unbiased variance for running_var; momentum None means
        #       a cumulative average, f = 1 / num_batches_tracked) without autograd history.
        # TODO: in eval, normalise with running_mean and running_var and leave the buffers alone.
        # Hint: for (N, C, L) reshape the (C,) statistics, weight and bias to (C, 1) to broadcast.
        raise NotImplementedError(
            "BatchNormLike.forward: normalise with batch stats (training) or running stats (eval)"
        )
