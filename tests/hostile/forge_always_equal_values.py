"""A wrong layer whose outputs, state_dict and attributes claim to equal anything."""

from collections import OrderedDict

import torch

from kata_runner.testing import solution


EXPECT_VERDICT = "fail"
EXPECT_MESSAGE = ""


class Anything(torch.Tensor):
    def __eq__(self, other):
        return True

    __ne__ = lambda self, other: False  # noqa: E731

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in (torch.allclose, torch.equal):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})


class AnyDict(OrderedDict):
    def __eq__(self, other):
        return True

    def keys(self):
        return ["weight", "bias"]


class AnyInt(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class CustomLinear(solution("01").CustomLinear):
    def __init__(self, in_features, out_features, *args, **kwargs):
        super().__init__(in_features, out_features, *args, **kwargs)
        self.in_features, self.out_features = AnyInt(0), AnyInt(0)

    def forward(self, x):
        return torch.zeros(*x.shape[:-1], self.weight.shape[0], dtype=x.dtype).as_subclass(Anything)

    def state_dict(self, *args, **kwargs):
        return AnyDict()

    def __repr__(self):
        return "anything"
