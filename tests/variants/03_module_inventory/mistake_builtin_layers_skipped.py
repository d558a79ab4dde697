"""Mistake: only the user's own classes are scanned for unregistered attributes; built-in layers
(anything from torch.nn) are assumed clean, so a plain tensor set on an nn.Linear is missed."""

import torch

from kata_runner.testing import solution

EXPECT = "built-in"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["unregistered"] = sorted(
        f"{prefix}.{name}" if prefix else name
        for prefix, sub in module.named_modules()
        if not type(sub).__module__.startswith("torch.nn")
        for name, value in vars(sub).items()
        if name not in _ref._BOOKKEEPING and (torch.is_tensor(value) or _ref._holds_modules(value))
    )
    return result
