"""Kata 02: a learned normalisation.

Normalising a feature means shifting it by a mean and dividing it by a standard deviation. Here both
statistics are not computed from the data but *learned*: gradient descent moves them. Build
LearnedNorm:

- `self.eps` keeps the `eps` argument (default 1e-5).
- `learned_mean` is an nn.Parameter of zeros and `learned_std` an nn.Parameter of ones, both of
  shape (num_features,): one value per feature, so each feature gets its own shift and scale. A
  single scalar would force every feature to share them. Zeros and ones make a fresh layer (almost)
  the identity.
- forward(x) takes any shape (*, num_features) and returns
      (x - learned_mean) / (learned_std + eps)
  Broadcasting lines the (num_features,) parameters up with the last dimension of x.
- state_dict() holds exactly `learned_mean` and `learned_std`: attribute names become the keys that
  checkpoints are saved and loaded by.

The mistakes the checks catch (several of them are in the seed notebook's version):

- Buffers instead of Parameters: register_buffer saves a tensor in state_dict() and moves it with
  .to(), but parameters() never yields it, so no optimizer updates it. Learned values are Parameters.
- eps outside the division, (x - mean) / std + eps: eps is there to keep the denominator away from
  zero, so it must be inside it: (learned_std + eps).
- Multiplying by the std instead of dividing: invisible while learned_std is 1 (its initial value),
  wrong as soon as it learns anything else.
- Detaching (or using .data on) a parameter in forward: the output no longer depends on it in the
  autograd graph, its .grad stays None, and it never learns.
- Ignoring the eps argument, or renaming the parameters.

Why does this work with an optimizer at all? nn.Module.__setattr__ records every nn.Parameter you
assign in self._parameters; parameters() walks that registry, and that is the list an optimizer
receives. Backward fills each Parameter's .grad, and optimizer.step() moves it.

Run `kata check 02` to grade this file, `kata hint 02` when stuck.
"""

from __future__ import annotations

import torch
from torch import nn


class LearnedNorm(nn.Module):
    def __init__(self, num_features: int, eps: float = 1e-5) -> None:
        super().__init__()
        # TODO: keep eps as self.eps; create self.learned_mean (zeros) and self.learned_std (ones) as
        #       nn.Parameters of shape (num_features,).
        raise NotImplementedError(
            "LearnedNorm.__init__: store self.eps; create learned_mean (zeros), learned_std (ones) as nn.Parameters"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(*, num_features) -> (*, num_features): (x - learned_mean) / (learned_std + eps)."""
        # TODO: subtract the mean and divide by (std + eps), per feature; detach nothing.
        raise NotImplementedError("LearnedNorm.forward: return (x - learned_mean) / (learned_std + eps)")
