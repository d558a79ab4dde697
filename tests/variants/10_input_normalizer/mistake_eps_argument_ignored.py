"""Mistake: a hard-coded 1e-5 instead of the eps argument."""

from kata_runner.testing import solution

EXPECT = "use the eps argument"
_ref = solution("10")


def attach_input_normalizer(module, eps=1e-5):
    return _ref.attach_input_normalizer(module)
