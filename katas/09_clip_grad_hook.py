"""Kata 09: clipping gradients with backward hooks.

Hooks let you change gradients while backward runs, without touching forward code. There are two
kinds, and they see different gradients; this kata is about telling them apart.

max_norm (both functions)
   An int or a float > 0 (math.inf is allowed and clips nothing). 0, a negative value or nan raise
   ValueError before anything is built or registered: after a rejected call, backward gives exactly the
   plain gradients. ("Clip" below always means: rescale to max_norm only when longer than max_norm.)

Clipping one gradient g (a tensor of any shape, 1-D included, any memory layout, float16, bfloat16,
float32 or float64, on any device)
   - ||g|| is the 2-norm of the WHOLE tensor (all elements together, not row by row).
   - If ||g|| > max_norm the result is g * (max_norm / ||g||): same shape, same dtype, same direction.
     Rescale, never clamp element-wise: clamping changes the gradient's direction. Dividing by
     ||g|| + eps with a tiny eps (at most 1e-6, as Tensor.renorm and clip_grad_norm_ do) is accepted.
   - If ||g|| <= max_norm (exactly at it, a zero gradient, any gradient with a huge max_norm) g comes back
     unchanged: clipping never scales up, and a zero gradient stays zero (never nan).
   - The result is a new tensor or g itself; g is never modified in place (the docs forbid hooks to
     modify their arguments).
   - Every tensor is clipped on its own: there is no norm budget shared between tensors.

1. clip_gradient_hook(max_norm) validates max_norm, then returns a hook for
   `module.register_full_backward_hook(hook)`. Autograd calls it as hook(module, grad_input, grad_output)
   and uses its return value in place of grad_input. Return a tuple (a list is accepted too) with
   exactly one entry per grad_input entry: None stays None in its place (an input that is not a tensor,
   or needs no gradient, gets None), every tensor is clipped. grad_output is only read, never returned,
   never modified. Registered on a module, the hook therefore clips what flows on to the module's inputs
   and to the layers before it, for inputs of shape (*, features) with any leading dimensions (1-D too).

2. clip_parameter_gradients(module, max_norm) validates max_norm, then registers `p.register_hook(fn)`
   once on every distinct parameter p of module that requires grad: submodules and parameters of custom
   modules included, a parameter shared by several submodules (tied weights) once, frozen parameters
   (requires_grad=False) skipped (they get no hook and no gradient). It returns a list of the handles,
   exactly one per hooked parameter (in any order).
   - From then on, every backward pass clips each parameter's gradient on its own (a tied parameter on
     the sum of its uses), before it is accumulated into p.grad: two passes without zero_grad leave the
     sum of two clipped gradients in p.grad.
   - handle.remove() removes exactly that parameter's hook: removing every handle, in any order, restores
     plain gradients; removing some leaves the other hooks clipping.
   - Calling it twice registers two independent sets of hooks, each with its own max_norm (keep max_norm
     in the hook, not in shared state): both run, so the gradient ends clipped to the smaller max_norm,
     and removing one call's handles leaves the other call's hooks working.

Why two functions? In a full backward hook, grad_input is the gradient with respect to the module's
INPUTS: clipping it clips what flows on to earlier layers. The module's own weight gradient is not in
grad_input at all, so the hook must leave it exactly as it was. The seed notebook claims its backward
hook clips the weight gradient; it does not (measured: a weight gradient of norm 925 with
max_norm=1.0). To clip a parameter's gradient, the weight's included, hook the parameter itself: that
is what clip_parameter_gradients does. Note the difference from torch.nn.utils.clip_grad_norm_, which
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
    # TODO: raise ValueError unless max_norm > 0 (nan too). Then define and return
    #       hook(module, grad_input, grad_output) -> tuple: one entry per grad_input entry, None kept
    #       as None, each tensor with norm > max_norm multiplied by max_norm / norm, others unchanged.
    raise NotImplementedError("clip_gradient_hook: validate max_norm, then return a hook that clips grad_input")


def clip_parameter_gradients(module: nn.Module, max_norm: float) -> list[RemovableHandle]:
    """Clip each trainable parameter's gradient to max_norm on every backward pass."""
    # TODO: raise ValueError unless max_norm > 0 (nan too). Then, for every p in module.parameters() with
    #       p.requires_grad, register p.register_hook(fn) where fn(grad) returns grad clipped to
    #       norm max_norm (rescaled, direction kept). Return the list of handles.
    raise NotImplementedError("clip_parameter_gradients: validate max_norm, then register a tensor hook per parameter")
