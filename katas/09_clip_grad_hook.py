"""Kata 09: clipping gradients with backward hooks.

Hooks let you change gradients while backward runs, without touching forward code. There are two
kinds, and they see different gradients; this kata is about telling them apart.

1. clip_gradient_hook(max_norm) returns a hook for `module.register_full_backward_hook(hook)`.
   Autograd calls it as hook(module, grad_input, grad_output) and uses its return value in place
   of grad_input. Return a tuple of the same length as grad_input where:
   - each tensor whose norm exceeds max_norm is rescaled to norm max_norm: g * (max_norm / ||g||).
     Rescale, never clamp element-wise: clamping changes the gradient's direction;
   - tensors already within max_norm are returned untouched (clipping never scales up);
   - None entries stay None, in their place (an input that needs no gradient gets None);
   - every tensor is clipped on its own: there is no norm budget shared between tensors;
   - the arguments are not modified in place (return new tensors; the docs forbid modifying them).

2. clip_parameter_gradients(module, max_norm) registers `p.register_hook(fn)` on every parameter p
   of module (submodules included) that requires grad, and returns the list of handles. From then
   on, every backward pass clips each parameter's gradient on its own to norm max_norm, before it is
   accumulated into p.grad. Frozen parameters (requires_grad=False) are skipped. Calling
   handle.remove() on every handle restores plain gradients.

Both raise ValueError when max_norm <= 0, before building or registering anything.

Why two functions? In a full backward hook, grad_input is the gradient with respect to the
module's INPUTS: clipping it clips what flows on to earlier layers. The module's own weight
gradient is not in grad_input at all, so it is left exactly as it was. The seed notebook claims its
backward hook clips the weight gradient; it does not (measured: a weight gradient of norm 925 with
max_norm=1.0). To clip a parameter's gradient, hook the parameter itself: that is what
clip_parameter_gradients does. Note the difference from torch.nn.utils.clip_grad_norm_, which
clips the global norm of all gradients together, once, after backward.

Run `kata check 09` to grade this file, `kata hint 09` when stuck.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

Grads = tuple[torch.Tensor | None, ...]
BackwardHook = Callable[[nn.Module, Grads, Grads], Grads]


def clip_gradient_hook(max_norm: float) -> BackwardHook:
    """A hook for `module.register_full_backward_hook` that clips every grad_input tensor to max_norm."""
    # TODO: raise ValueError if max_norm <= 0. Then define and return
    #       hook(module, grad_input, grad_output) -> tuple: one entry per grad_input entry, None kept
    #       as None, each tensor with norm > max_norm multiplied by max_norm / norm, others unchanged.
    raise NotImplementedError("clip_gradient_hook: validate max_norm, then return a hook that clips grad_input")


def clip_parameter_gradients(module: nn.Module, max_norm: float) -> list[RemovableHandle]:
    """Clip each trainable parameter's gradient to max_norm on every backward pass."""
    # TODO: raise ValueError if max_norm <= 0. Then, for every p in module.parameters() with
    #       p.requires_grad, register p.register_hook(fn) where fn(grad) returns grad clipped to
    #       norm max_norm (rescaled, direction kept). Return the list of handles.
    raise NotImplementedError("clip_parameter_gradients: validate max_norm, then register a tensor hook per parameter")
