"""Mistake: every list, tuple or dict attribute is reported, even one of plain data (a config dict)."""

import torch

from kata_runner.testing import solution

EXPECT = "ordinary data"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["unregistered"] = sorted(
        f"{prefix}.{name}" if prefix else name
        for prefix, sub in module.named_modules()
        for name, value in vars(sub).items()
        if name not in _ref._BOOKKEEPING and (torch.is_tensor(value) or isinstance(value, (list, tuple, dict)))
    )
    return result
