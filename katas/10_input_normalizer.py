"""Kata 10: forward pre-hooks, normalising a module's input.

A forward pre-hook runs just before a module's forward() and may replace the arguments forward is
called with, without touching the module's code. Write

    attach_input_normalizer(module, eps=1e-5) -> RemovableHandle

which registers a forward pre-hook on `module` so that, on every call, the first argument x is
replaced by its standardised version

    (x - x.mean()) / (x.std() + eps)

(the whole tensor's mean and its default, unbiased std; eps keeps a constant input finite: it
becomes zeros, not nan), and returns the handle from the registration. `kata check 10` holds you to
exactly this contract:

- module is any nn.Module (nn.Linear, or one whose forward takes several arguments); eps is an int
  or a float > 0, positional or keyword, default 1e-5.
- x is the first positional argument; when the call passes no positional argument, x is the keyword
  argument named like forward's first parameter: module(x=t) for forward(self, x, ...),
  nn.Linear(...)(input=t), Offset()(features=t) for forward(self, features, *, offset=0.0). That
  name is the first entry of inspect.signature(module.forward).parameters.
- x is a floating tensor (float16, bfloat16, float32, float64) of any shape with at least two
  distinct values, contiguous or not (transposed, sliced, expanded: do not .view() it); forward
  receives the standardised x in x's dtype, on x's device.
- Every other positional argument and every keyword argument reaches forward unchanged, the very
  same objects, in their places: module(x, 2.0, shift=t) calls forward(x_normalised, 2.0, shift=t).
- The caller's tensor is never modified in place: build a new tensor, do not sub_()/div_() x.
  (The caller still owns x and may use it after the call; in-place ops on a leaf that requires
  grad even raise an error.)
- Autograd: gradients flow back to x through the normalisation, mean and std included (no detach(),
  no torch.no_grad() around it); grad mode is left as the caller set it, and under torch.no_grad()
  nothing records history.
- The statistics are computed on every call, from that call's x.
- The returned RemovableHandle's remove() restores the plain module: forward receives the caller's
  x itself again. (Register one hook and return its handle: a second hook would outlive it.)

How a pre-hook replaces arguments (this is what the seed notebook gets wrong):
- register_forward_pre_hook(hook) calls hook(module, args) with args the TUPLE of positional
  arguments. A returned value replaces args entirely; None keeps them. A non-tuple return value is
  wrapped as (value,): returning a bare tensor "works" for a one-argument module such as
  nn.Linear, but silently drops every other positional argument of a multi-argument module.
  Return a tuple: (x_normalised, *args[1:]). Such a hook never sees the keyword arguments, so it
  cannot standardise an x passed by keyword.
- register_forward_pre_hook(hook, with_kwargs=True) calls hook(module, args, kwargs) and expects
  None or a pair (new_args, new_kwargs); whatever you return replaces BOTH, so returning
  (new_args, {}) loses the keyword arguments. This is the one that can see an x passed by keyword.

Run `kata check 10` to grade this file, `kata hint 10` when stuck.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


def attach_input_normalizer(module: nn.Module, eps: float = 1e-5) -> RemovableHandle:
    """Standardise the first argument x of every call to `module`; return the hook's handle."""
    # TODO: find the name of forward's first parameter (inspect.signature(module.forward)).
    #       Define a pre-hook (module, args, kwargs), registered with with_kwargs=True, that:
    #       - takes x = args[0], or kwargs[name] when args is empty, and builds a NEW tensor
    #         (x - x.mean()) / (x.std() + eps) (no in-place ops, no detach, so gradients still reach x);
    #       - returns (new_args, new_kwargs): (x_normalised, *args[1:]) and the kwargs unchanged, or
    #         args and a copy of kwargs with x replaced; None when there is no x.
    #       Register it with module.register_forward_pre_hook(...) and return the handle it gives you.
    raise NotImplementedError("attach_input_normalizer: register a forward pre-hook that standardises x")
