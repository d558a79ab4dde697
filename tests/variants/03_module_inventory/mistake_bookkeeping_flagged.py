"""Mistake: vars() scanned without skipping nn.Module's own bookkeeping, so _modules is "unregistered"."""

import torch

from kata_runner.testing import solution

EXPECT = "bookkeeping"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["unregistered"] = sorted(
        f"{prefix}.{name}" if prefix else name
        for prefix, sub in module.named_modules()
        for name, value in vars(sub).items()
        if torch.is_tensor(value) or _ref._holds_modules(value)
    )
    return result
