"""Mistake: the names are returned in discovery order, not sorted."""

from kata_runner.testing import solution

EXPECT = "not sorted"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["parameters"] = [name for name, _ in module.named_parameters()]
    result["submodules"] = [name for name, _ in module.named_modules() if name]
    return result
