"""Mistake: the hook is registered but its handle is not returned, so it can never be removed."""

from kata_runner.testing import solution

EXPECT = "RemovableHandle"
_ref = solution("10")


def attach_input_normalizer(module, eps=1e-5):
    _ref.attach_input_normalizer(module, eps)
