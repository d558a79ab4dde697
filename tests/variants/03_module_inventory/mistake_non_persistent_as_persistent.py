"""Mistake: every buffer is counted as persistent (all of named_buffers() under "buffers")."""

from kata_runner.testing import solution

EXPECT = "non-persistent"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["buffers"] = sorted(name for name, _ in module.named_buffers())
    return result
