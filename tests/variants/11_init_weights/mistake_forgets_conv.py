"""Mistake: only nn.Linear gets Kaiming init; Conv1d and Conv2d keep their default initialisation."""

from kata_runner.testing import solution

EXPECT = "Conv layers"
_ref = solution("11")


def init_weights(module):
    if isinstance(module, (_ref.nn.Conv1d, _ref.nn.Conv2d)):
        return
    _ref.init_weights(module)
