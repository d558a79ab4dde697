"""Mistake: remove_hooks pops one handle per layer name, so a second call raises IndexError."""

from kata_runner.testing import solution

EXPECT = "safe to call twice"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    def remove_hooks(self):
        for _ in self.layer_names:
            self._handles.pop().remove()
