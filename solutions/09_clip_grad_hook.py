"""Kata 09, reference solution: clipping gradients with backward hooks.

See katas/09_clip_grad_hook.py for the task. The comments below explain each step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle

Grads = tuple[torch.Tensor | None, ...]
BackwardHook = Callable[[nn.Module, Grads, Grads], Grads]


def _check_max_norm(max_norm: float) -> None:
    # TODO 1 (both functions). `not max_norm > 0` also rejects nan (every comparison with nan is
    # False, so `max_norm <= 0` would let it through); ints and math.inf pass. Validate before anything
    # is built or registered, so a bad argument leaves no half-installed hooks behind.
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm!r}")


def _clip(grad: torch.Tensor, max_norm: float) -> torch.Tensor:
    # Rescale the whole tensor (the norm of all its elements, not row by row), never clamp its
    # elements: multiplying by one positive scalar keeps the direction, clamping each element changes
    # it. The product stays in grad's dtype (norm has that dtype), which autograd needs. A gradient
    # already within the budget is returned as it is (clipping only ever shrinks, and a zero gradient
    # stays zero, not nan).
    norm = grad.norm()
    if norm <= max_norm:
        return grad
    # A new tensor: hooks must not modify their arguments in place.
    return grad * (max_norm / norm)


def clip_gradient_hook(max_norm: float) -> BackwardHook:
    """A hook for `module.register_full_backward_hook` that clips every grad_input tensor to max_norm."""
    _check_max_norm(max_norm)

    # TODO 2: the hook. max_norm lives in this closure, so every hook keeps its own value.
    def hook(module: nn.Module, grad_input: Grads, grad_output: Grads) -> Grads:
        # grad_input[i] is dLoss/d(input i): what flows on to the layers before this module. It
        # does NOT contain the gradient of the module's own weights (those are computed from
        # grad_output and land in weight.grad untouched). The returned tuple replaces grad_input,
        # so it must have the same length, with None kept where an input needs no gradient.
        # grad_output is read-only here: a full backward hook cannot replace it.
        return tuple(None if g is None else _clip(g, max_norm) for g in grad_input)

    return hook


def clip_parameter_gradients(module: nn.Module, max_norm: float) -> list[RemovableHandle]:
    """Clip each trainable parameter's gradient to max_norm on every backward pass."""
    _check_max_norm(max_norm)

    def clip(grad: torch.Tensor) -> torch.Tensor:
        return _clip(grad, max_norm)

    # TODO 3: a tensor hook runs on every future backward pass, on the gradient computed for that
    # tensor before it is accumulated into .grad: each parameter is clipped on its own, each pass (a
    # tied parameter once, on the sum of its uses). module.parameters() walks the submodules and yields
    # a shared parameter once, so a tied weight gets one hook and one handle. Frozen parameters get no
    # gradient, and register_hook refuses tensors that do not require grad, so skip them. Each handle
    # removes exactly its own hook; a second call adds a second, independent set of hooks (each closure
    # holds its own max_norm), so both clip until their handles are removed.
    return [p.register_hook(clip) for p in module.parameters() if p.requires_grad]
