"""Mistake: tuples of every kind are rebuilt as plain tuples: a namedtuple output loses its type and fields."""

import torch

from kata_runner.testing import solution

EXPECT = "keep the container's type"
_ref = solution("08")


def _copy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


class FeatureExtractor(_ref.FeatureExtractor):
    def _make_hook(self, name):
        def hook(module, inputs, output):
            self._features[name] = _copy(output)

        return hook
