"""Mistake: only the root's vars() are scanned, so unregistered tensors inside submodules are missed."""

import torch

from kata_runner.testing import solution

EXPECT = "inside submodules"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["unregistered"] = sorted(
        name
        for name, value in vars(module).items()
        if name not in _ref._BOOKKEEPING and (torch.is_tensor(value) or _ref._holds_modules(value))
    )
    return result
