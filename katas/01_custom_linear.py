"""Kata 01: a linear layer from scratch.

nn.Linear is the simplest layer with learnable state, which makes it the best place to see how
nn.Module keeps track of that state. Build CustomLinear so that it can stand in for nn.Linear.

Why Parameters? nn.Module's __setattr__ registers an nn.Parameter in `self._parameters`; that
registry is what parameters(), state_dict(), .to(device) and every optimizer read. A plain tensor
attribute is invisible to all of them (the seed notebook's "BrokenLayer").

The contract (`kata check 01` holds you to exactly this):

Construction: CustomLinear(in_features, out_features, bias=True, *, device=None, dtype=None)
- in_features and out_features are positive ints, given by position or by keyword; keep them as
  the int attributes `in_features` and `out_features`. `bias` may be given by position or keyword;
  any false value (False, 0) means no bias.
- `weight` is an nn.Parameter of shape (out_features, in_features), the layout nn.Linear uses, so
  that state_dicts load both ways between the two layers.
- `bias` is an nn.Parameter of shape (out_features,); without a bias it is registered as None
  (`self.register_parameter("bias", None)`): `layer.bias is None`, and it appears in neither
  named_parameters() nor state_dict().
- named_parameters() yields weight, then bias; state_dict() holds exactly those keys. The layer has
  no buffers and no submodules.
- Factory arguments: the parameters are created on `device` (a str such as "cpu" or "cuda", a
  torch.device, or None for the default device) with `dtype` (None means torch's default dtype,
  torch.get_default_dtype(), as for nn.Linear).
- Initialise like nn.Linear, from torch's global RNG (so torch.manual_seed reproduces a layer):
  weight ~ U(-1/sqrt(in_features), 1/sqrt(in_features)), which is what
  `nn.init.kaiming_uniform_(weight, a=math.sqrt(5))` gives; bias zeros or that same U(-b, b).
  Unscaled randn makes activations grow with every layer; all-zero weights make every output unit
  identical forever (nothing breaks the symmetry).
- reset_parameters() draws new values the same way *in place*: the Parameter objects stay the
  same, so an optimizer built before the call keeps training the layer.

forward(x) -> Tensor
- x has shape (*, in_features): 1-D (in_features,), a batch of one, or any number of leading
  dimensions. It may be non-contiguous (transposed, sliced, expanded). It has the layer's dtype
  (float16, bfloat16, float32 or float64) and is on the layer's device.
- Returns x @ weight.T + bias (no bias term without a bias), a new tensor of shape
  (*, out_features) with x's dtype, on x's device. Calling it twice gives the same result.
- Never modifies x, and leaves grad mode (torch.is_grad_enabled()) as the caller set it. Under
  torch.no_grad() the output records no autograd history; otherwise gradients flow to weight,
  bias and x, and are the derivative of x @ weight.T + bias.

Moving and saving
- .to(device), .double() and friends move and cast the parameters (they do, once registered).
- state_dict() is interchangeable with nn.Linear's: nn.Linear(in, out).load_state_dict(yours)
  works and then computes what your layer computes, and the other way round.

repr(layer) is exactly `CustomLinear(in_features=10, out_features=5, bias=True)`: override
`extra_repr` to return the part in parentheses (bias=True when the layer has a bias).

Run `kata check 01` to grade this file, `kata hint 01` when stuck.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class CustomLinear(nn.Module):
    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        # TODO: create self.weight, an nn.Parameter of shape (out_features, in_features) on `device`
        #       with `dtype`, and self.bias of shape (out_features,), or register it as None when
        #       bias is False. Then call self.reset_parameters().
        raise NotImplementedError("CustomLinear.__init__: create weight and bias as nn.Parameters")

    def reset_parameters(self) -> None:
        """Initialise weight (and bias) the way nn.Linear does."""
        # TODO: weight ~ U(-1/sqrt(in_features), 1/sqrt(in_features)); bias zeros or the same range.
        #       math.sqrt and nn.init.kaiming_uniform_ / nn.init.uniform_ are all you need.
        raise NotImplementedError("CustomLinear.reset_parameters: initialise like nn.Linear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(*, in_features) -> (*, out_features): x @ weight.T + bias."""
        # TODO: compute the affine map for any number of leading dimensions; skip the bias if it is None.
        raise NotImplementedError("CustomLinear.forward: compute x @ weight.T + bias")

    def extra_repr(self) -> str:
        # TODO: return "in_features=..., out_features=..., bias=..." (bias is True when self.bias exists).
        raise NotImplementedError("CustomLinear.extra_repr: describe the layer's sizes")
