"""Mistake: a container is judged by its first item only, so ["relu", nn.Linear(...)] is missed."""

import torch
from torch import nn

from kata_runner.testing import solution

EXPECT = "among other items"
_ref = solution("03")


def _first_is_module(value):
    if isinstance(value, dict):
        value = list(value.values())
    return isinstance(value, (list, tuple)) and len(value) > 0 and isinstance(value[0], nn.Module)


def inventory(module):
    result = _ref.inventory(module)
    result["unregistered"] = sorted(
        f"{prefix}.{name}" if prefix else name
        for prefix, sub in module.named_modules()
        for name, value in vars(sub).items()
        if name not in _ref._BOOKKEEPING and (torch.is_tensor(value) or _first_is_module(value))
    )
    return result
