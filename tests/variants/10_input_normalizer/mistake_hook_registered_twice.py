"""Mistake: the hook is registered twice and only one handle is returned; removing it leaves the other."""

from kata_runner.testing import solution

EXPECT = "still has 1 forward pre-hook"
_ref = solution("10")


def attach_input_normalizer(module, eps=1e-5):
    _ref.attach_input_normalizer(module, eps)
    return _ref.attach_input_normalizer(module, eps)
