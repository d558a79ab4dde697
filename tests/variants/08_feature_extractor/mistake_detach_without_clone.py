"""Mistake: the output is detached but not cloned, so an in-place operation after the layer (an
nn.ReLU(inplace=True), the caller's out.mul_()) rewrites the stored feature."""

import torch
from torch.utils._pytree import tree_map

from kata_runner.testing import solution

EXPECT = "clone"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def _make_hook(self, name):
        def hook(module, inputs, output):
            self._features[name] = tree_map(lambda t: t.detach() if torch.is_tensor(t) else t, output)

        return hook
