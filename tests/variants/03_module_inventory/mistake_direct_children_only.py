"""Mistake: submodules from named_children(), so grandchildren are missed."""

from kata_runner.testing import solution

EXPECT = "every descendant"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["submodules"] = sorted(name for name, _ in module.named_children())
    return result
