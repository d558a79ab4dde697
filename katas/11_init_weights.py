"""Kata 11: initialising weights with model.apply().

Every built-in layer initialises itself in its constructor, but the defaults are chosen for
generality, not for your network. A deep ReLU network trains best when every layer keeps the
variance of its signal roughly constant, which is what Kaiming (He) initialisation is for. The
idiom is one function that knows how to initialise ONE module, handed to `model.apply`:

    model.apply(init_weights)

`apply(fn)` walks the module tree and calls fn on every submodule (children first, then the
root), so init_weights never recurses itself: it looks at the single module it is given, decides
with isinstance what kind of layer it is, and initialises that layer's own parameters in place.
Write `init_weights(module)`. The contract (everything `kata check 11` holds you to):

- nn.Linear, nn.Conv1d, nn.Conv2d: `nn.init.kaiming_normal_(weight, mode="fan_out",
  nonlinearity="relu")`, so weight ~ N(0, std^2) with std = sqrt(2 / fan_out), normally distributed
  (not uniform, not truncated); the bias exactly zeros. fan_out is the number of outputs each input
  feeds: out_features for Linear, out_channels times the kernel size (k, or kh * kw) for a
  convolution. sqrt(2) is the ReLU gain: ReLU zeroes half of its inputs, halving the variance, and
  the factor 2 gives it back. (nonlinearity="leaky_relu" with a=0 has the same gain, and drawing
  with normal_(0, std) yourself is fine: the specs judge the distribution, not the call.)
- nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm: weight exactly ones and bias exactly zeros, so
  that every norm layer starts as a plain normalisation (identity scale, no shift). Their buffers
  (running_mean, running_var, num_batches_tracked) keep their values: do not call
  reset_parameters() or reset_running_stats().
- Subclasses of these six layer types count as those layers (dispatch with isinstance):
  nn.MultiheadAttention's out_proj, for one, is a subclass of nn.Linear.
- Layers built without a bias (bias=False) have `module.bias is None`; norm layers built with
  affine=False / elementwise_affine=False have weight and bias None (LayerNorm(bias=False) only
  the bias). Skip what is None instead of crashing, and initialise what is there.
- Every other module is left exactly as it was: nn.Embedding, nn.Conv3d, nn.GroupNorm,
  nn.InstanceNorm1d, nn.Bilinear, the model's own custom nn.Parameters (private ones too), any
  module that merely happens to have an attribute called `weight`. Testing `hasattr(m, "weight")`
  instead of the layer type re-initialises parameters that were never yours to touch.
- model.apply(init_weights) works on any tree: nested nn.Sequential / nn.ModuleList /
  nn.ModuleDict / custom parents, private child names, and two layers sharing one weight (it is
  initialised like its layers say, and stays shared).
- Initialise in place (the nn.init.*_ functions, which run under torch.no_grad()): the same
  Parameter objects stay registered, in their dtype (float16, bfloat16, float32, float64) and on
  their device; an optimizer built before model.apply keeps training the model. Replacing a
  Parameter with a new one loses all of that.
- Grad mode is left as the caller set it, whether or not model.apply runs under torch.no_grad()
  (a `with torch.no_grad():` block restores it; torch.set_grad_enabled(False) does not).
- The values come from torch's global random generator, so torch.manual_seed(s) followed by
  model.apply(init_weights) gives the same weights every time, and another seed other weights.

Classic mistakes: mode="fan_in" (the default) gives std sqrt(2 / fan_in), a different scale for
every layer whose fan-in and fan-out differ; checking only nn.Linear leaves every convolution at
its default init; and `nn.init.zeros_(m.bias)` crashes on the first layer built with bias=False.

Run `kata check 11` to grade this file, `kata hint 11` when stuck.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def init_weights(module: nn.Module) -> None:
    """Initialise one module in place, for use as `model.apply(init_weights)`."""
    # TODO: if module is an nn.Linear, nn.Conv1d or nn.Conv2d: kaiming_normal_ its weight with
    #       mode="fan_out", nonlinearity="relu", and zero its bias when it has one.
    # TODO: if module is an nn.BatchNorm1d, nn.BatchNorm2d or nn.LayerNorm: weight ones, bias zeros
    #       (each only when it is not None).
    # TODO: any other module: do nothing at all.
    raise NotImplementedError("init_weights: Kaiming-normal (fan_out, relu) for Linear/Conv, ones/zeros for norms")
