"""A wrong layer that leaves a TorchFunctionMode switched on, making every comparison say "equal"."""

import torch
from torch.overrides import TorchFunctionMode

from kata_runner.testing import solution

EXPECT_VERDICT = "fail"
EXPECT_MESSAGE = ""


class AlwaysClose(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal, torch.Tensor.__eq__, torch.isclose):
            return True
        return func(*args, **(kwargs or {}))


AlwaysClose().__enter__()


class CustomLinear(solution("01").CustomLinear):
    def forward(self, x):
        return torch.zeros(*x.shape[:-1], self.out_features, dtype=x.dtype, device=x.device)
