"""Mistake: submodules taken from named_modules() without dropping the root's empty name."""

from kata_runner.testing import solution

EXPECT = "root"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["submodules"] = sorted(name for name, _ in module.named_modules())
    return result
