"""Kata 02: a learned normalisation.

Normalising a feature means shifting it by a mean and dividing it by a standard deviation. Here both
statistics are not computed from the data but *learned*: gradient descent moves them. Build
LearnedNorm(num_features, eps=1e-5); `kata check 02` holds you to exactly this contract:

Construction
- num_features is an int >= 1, eps an int or a float >= 0 (zero included), both positional or by
  keyword. `self.eps` keeps the eps argument as that number (a float(eps) is fine), default 1e-5.
- `learned_mean` is an nn.Parameter of zeros and `learned_std` an nn.Parameter of ones, both of
  shape (num_features,): one value per feature, so each feature gets its own shift and scale. A
  single scalar would force every feature to share them. Zeros and ones make a fresh layer (almost)
  the identity: it computes x / (1 + eps).
- They are the layer's whole state: state_dict() holds exactly the keys "learned_mean" and
  "learned_std" (attribute names become the keys checkpoints are saved and loaded by), parameters()
  yields exactly these two, and there are no buffers and no submodules. eps is a setting, not state.
- load_state_dict({"learned_mean": m, "learned_std": s}) sets the values forward uses, and
  state_dict() gives them back unchanged.

forward(x)
- x has shape (*, num_features): 1-D (num_features,), a batch of one, or up to three leading
  dimensions; contiguous or not (transposed, sliced, expanded: do not .view() it). It returns
      (x - learned_mean) / (learned_std + eps)
  of x's shape, feature by feature, for any values the parameters hold. Broadcasting lines the
  (num_features,) parameters up with the last dimension of x.
- dtype and device: after layer.to(dtype) (float16, bfloat16, float32, float64) and/or .to(device),
  an input of that dtype on that device gives an output of that dtype on that device. Do not cast x.
- forward never modifies x (no x.sub_()) nor the parameters, so calling it twice gives the same
  result; it leaves grad mode as it found it, and under torch.no_grad() the output has no history.
- Autograd: gradients flow to learned_mean, learned_std AND x, and are the derivative of the formula.
  Plain gradient descent over parameters() (p -= lr * p.grad, what every optimizer does) moves both
  statistics toward the data's mean and standard deviation.

The mistakes the checks catch (several of them are in the seed notebook's version):

- Buffers instead of Parameters: register_buffer saves a tensor in state_dict() and moves it with
  .to(), but parameters() never yields it, so no optimizer updates it. Learned values are Parameters.
- eps outside the division, (x - mean) / std + eps: eps is there to keep the denominator away from
  zero, so it must be inside it: (learned_std + eps).
- Multiplying by the std instead of dividing: invisible while learned_std is 1 (its initial value),
  wrong as soon as it learns anything else.
- Detaching (or using .data on) a parameter in forward: the output no longer depends on it in the
  autograd graph, its .grad stays None, and it never learns. Detaching x stops the gradient reaching
  the layers before this one.
- Ignoring the eps argument, registering eps as a buffer, or renaming the parameters.
- Normalising with the batch's own statistics (x.mean(0)): that is BatchNorm, not this layer.
- Flattening x to 2-D and not restoring its shape, .view() on a non-contiguous input, computing in
  float32 whatever the input's dtype, or writing into x in place.

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
        # TODO: subtract the mean and divide by (std + eps), per feature, for any leading shape and layout;
        #       detach nothing, write into nothing in place, cast nothing (the output keeps x's shape and dtype).
        raise NotImplementedError("LearnedNorm.forward: return (x - learned_mean) / (learned_std + eps)")
