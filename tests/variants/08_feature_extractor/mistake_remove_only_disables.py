"""Mistake: remove_hooks sets a flag the hooks check instead of removing them: they stay on the model."""

from kata_runner.testing import solution

EXPECT = "still registered"
_ref = solution("08")


class FeatureExtractor(_ref.FeatureExtractor):
    active = True

    def _make_hook(self, name):
        def hook(module, inputs, output):
            if self.active:
                self._features[name] = _ref._snapshot(output)

        return hook

    def remove_hooks(self):
        self.active = False
