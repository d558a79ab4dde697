"""Kata 10: forward pre-hooks, normalising a module's input.

A forward pre-hook runs just before a module's forward() and may replace the arguments forward is
called with, without touching the module's code. Write

    attach_input_normalizer(module, eps=1e-5) -> RemovableHandle

which registers a pre-hook on `module` so that, on every call, the FIRST POSITIONAL argument x is
replaced by its standardised version

    (x - x.mean()) / (x.std() + eps)

(the whole tensor's mean and its default, unbiased std; eps keeps a constant input finite), and
returns the handle from the registration. The rules:

- Every other positional argument and every keyword argument reaches forward unchanged:
  module(x, 2.0, shift=t) must still call forward(x_normalised, 2.0, shift=t).
- The caller's tensor is never modified in place: build a new tensor, do not sub_()/div_() x.
  (The caller still owns x and may use it after the call; in-place ops on a leaf that requires
  grad even raise an error.)
- Gradients flow back to x: no detach(), no torch.no_grad() around the normalisation.
- The statistics are computed on every call, from that call's x.
- handle.remove() restores the plain module.

How a pre-hook replaces arguments (this is what the seed notebook gets wrong):
- register_forward_pre_hook(hook) calls hook(module, args) with args the TUPLE of positional
  arguments. A returned value replaces args entirely; None keeps them. A non-tuple return value is
  wrapped as (value,): returning a bare tensor "works" for a one-argument module such as
  nn.Linear, but silently drops every other positional argument of a multi-argument module.
  Return a tuple: (x_normalised, *args[1:]).
- register_forward_pre_hook(hook, with_kwargs=True) calls hook(module, args, kwargs) and expects
  None or a pair (new_args, new_kwargs); whatever you return replaces BOTH, so returning
  (new_args, {}) loses the keyword arguments. Without with_kwargs, kwargs are passed through
  untouched and the hook never sees them. Either way is fine here, if every argument survives.

Run `kata check 10` to grade this file, `kata hint 10` when stuck.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


def attach_input_normalizer(module: nn.Module, eps: float = 1e-5) -> RemovableHandle:
    """Standardise the first positional argument of every call to `module`; return the hook's handle."""
    # TODO: define a pre-hook (module, args) or, with with_kwargs=True, (module, args, kwargs) that:
    #       - takes x = args[0] and builds a NEW tensor (x - x.mean()) / (x.std() + eps) (no in-place ops,
    #         no detach, so gradients still reach x);
    #       - returns a tuple of positional arguments (x_normalised, *args[1:]) (plus the kwargs, unchanged,
    #         when registered with with_kwargs=True).
    #       Register it with module.register_forward_pre_hook(...) and return the handle it gives you.
    raise NotImplementedError("attach_input_normalizer: register a forward pre-hook that standardises args[0]")
