"""Mistake: every tuple is rebuilt as type(out)(generator), which works for tuple, list and torch.return_types
but raises TypeError for a namedtuple (its fields are separate arguments)."""

import torch

from kata_runner.testing import solution

EXPECT = "detach its elements one by one"
_ref = solution("08")


def _copy(value):
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_copy(v) for v in value)
    return value


class FeatureExtractor(_ref.FeatureExtractor):
    def _make_hook(self, name):
        def hook(module, inputs, output):
            self._features[name] = _copy(output)

        return hook
