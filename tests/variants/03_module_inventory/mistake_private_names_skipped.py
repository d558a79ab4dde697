"""Mistake: every attribute whose name starts with "_" is taken for nn.Module's bookkeeping, so a private
plain tensor (self._cache = torch.zeros(...)) is never reported."""

import torch

from kata_runner.testing import solution

EXPECT = "private"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["unregistered"] = sorted(
        f"{prefix}.{name}" if prefix else name
        for prefix, sub in module.named_modules()
        for name, value in vars(sub).items()
        if not name.startswith("_") and (torch.is_tensor(value) or _ref._holds_modules(value))
    )
    return result
