"""Kata 10, reference solution: forward pre-hooks, normalising a module's input.

See katas/10_input_normalizer.py for the task. The comments below explain each step.
"""

from __future__ import annotations

from typing import Any

from torch import nn
from torch.utils.hooks import RemovableHandle


def attach_input_normalizer(module: nn.Module, eps: float = 1e-5) -> RemovableHandle:
    """Standardise the first positional argument of every call to `module`; return the hook's handle."""

    def hook(
        module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        if not args:
            # x was passed by keyword (or not at all): there is no first positional argument to
            # replace, and returning None leaves the call exactly as it was.
            return None
        x = args[0]
        # Out-of-place arithmetic builds a new tensor: the caller's x is untouched, and autograd
        # records the subtraction and division, so gradients flow back through the normalisation
        # to x. The statistics come from this call's x, every call.
        normalised = (x - x.mean()) / (x.std() + eps)
        # With with_kwargs=True the returned pair replaces BOTH args and kwargs: keep every other
        # positional argument in its place and hand the kwargs back as they came.
        return (normalised, *args[1:]), kwargs

    # A plain pre-hook (without with_kwargs) would also do, returning (normalised, *args[1:]): it
    # never sees kwargs, so they pass through untouched. What it must not return is the bare
    # tensor: PyTorch wraps a non-tuple as (value,), which drops every other positional argument.
    return module.register_forward_pre_hook(hook, with_kwargs=True)
