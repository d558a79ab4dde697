"""Kata 10, reference solution: forward pre-hooks, normalising a module's input.

See katas/10_input_normalizer.py for the task. The comments below explain each step.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


def attach_input_normalizer(module: nn.Module, eps: float = 1e-5) -> RemovableHandle:
    """Standardise the first argument x of every call to `module`; return the hook's handle."""
    # x may also come by keyword, under the name of forward's first parameter ("x", or "input" for
    # nn.Linear). inspect.signature of the bound method leaves self out.
    parameters = list(inspect.signature(module.forward).parameters.values())
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    name = parameters[0].name if parameters and parameters[0].kind in kinds else None

    def standardise(x: torch.Tensor) -> torch.Tensor:
        # Out-of-place arithmetic builds a new tensor: the caller's x is untouched, and autograd
        # records the subtraction and division, so gradients flow back through the normalisation
        # (mean and std included) to x. The statistics come from this call's x, every call.
        return (x - x.mean()) / (x.std() + eps)

    def hook(
        module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
        if args:
            # With with_kwargs=True the returned pair replaces BOTH args and kwargs: keep every other
            # positional argument in its place and hand the kwargs back as they came.
            return (standardise(args[0]), *args[1:]), kwargs
        if name is not None and name in kwargs:
            # x came by keyword: a new dict with x standardised, every other keyword as it was.
            return args, {**kwargs, name: standardise(kwargs[name])}
        # No x at all: returning None leaves the call exactly as it was.
        return None

    # A plain pre-hook (without with_kwargs) never sees kwargs, so it could not standardise an x passed
    # by keyword. What a hook must never return is the bare tensor: PyTorch wraps a non-tuple as
    # (value,), which drops every other positional argument.
    return module.register_forward_pre_hook(hook, with_kwargs=True)
