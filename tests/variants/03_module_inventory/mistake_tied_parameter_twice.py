"""Mistake: every module's _parameters listed without remembering what was seen: a tied weight twice."""

from kata_runner.testing import solution

EXPECT = "tied"
_ref = solution("03")


def inventory(module):
    result = _ref.inventory(module)
    result["parameters"] = sorted(
        f"{prefix}.{name}" if prefix else name
        for prefix, sub in module.named_modules()
        for name, param in sub._parameters.items()
        if param is not None
    )
    return result
